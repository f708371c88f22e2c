"""The sandbox's `latency` setting (fixed, or per request), its extra tenants and token request times, for the
throughput benchmarks.

No test measures time: a held-back answer shows as a client read timeout far below the latency, a prompt one as an
answer within a timeout far above it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from sandbox.server import SandboxServer
from sandbox.state import parse_latency
from tests.sandbox.test_command import sandbox_command
from tests.sandbox.test_sandbox import ORDER, SECRET, auth

HELD = 5.0  # seconds of latency where an answer is held back
PATIENT = 30  # a client timeout no prompt answer comes near
IMPATIENT = 0.5  # a client timeout no held-back answer can meet
EXTRA = "0b5e1a7e-0000-4000-8000-00000000000b"


@pytest.fixture(scope="module")
def server():
    with SandboxServer(client_secret=SECRET, customers=3, latency={"POST /api/v3/SalesOrders": HELD}) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(server):
    server.state.reset()
    yield


def post_order(server, timeout: float, **overrides) -> requests.Response:
    body = {**ORDER, "customer": {**ORDER["customer"], **overrides}}
    return requests.post(f"{server.api_url}/api/v3/SalesOrders", json=body, headers=auth(server), timeout=timeout)


def test_a_matching_request_is_answered_only_after_the_latency_with_its_work_done(server):
    with pytest.raises(requests.exceptions.ReadTimeout):
        post_order(server, IMPATIENT, refNo="HELD-1")
    assert [o["customerRefNo"] for o in server.state.orders()] == ["HELD-1"]  # the work is done before the wait


def test_other_methods_paths_and_control_endpoints_answer_at_once(server):
    headers = auth(server)  # the token endpoint is not held back either
    listed = requests.get(f"{server.api_url}/api/v3/SalesOrders", headers=headers, timeout=IMPATIENT)
    customers = requests.get(f"{server.api_url}/api/v3/Customers", headers=headers, timeout=IMPATIENT)
    health = requests.get(f"{server.base_url}/_sandbox/health", timeout=IMPATIENT)
    assert (listed.status_code, customers.status_code, health.status_code) == (200, 200, 200)


def test_latency_can_be_changed_through_the_control_endpoint_and_reset_restores_it(server):
    control = f"{server.base_url}/_sandbox/latency"
    assert requests.post(control, json=0, timeout=PATIENT).json()["latency"] == 0
    assert post_order(server, PATIENT).status_code == 201
    changed = requests.post(control, json={"/api/v3/Customers": HELD}, timeout=PATIENT).json()
    assert changed["latency"] == {"/api/v3/Customers": HELD}
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{server.api_url}/api/v3/Customers", headers=auth(server), timeout=IMPATIENT)
    refused = requests.post(control, json={"Customers": 1}, timeout=PATIENT)
    assert refused.status_code == 400 and "'/path' or 'METHOD /path'" in refused.json()["error"]
    server.state.reset()
    assert server.state.latency == {"POST /api/v3/SalesOrders": HELD}


def test_a_fixed_latency_holds_back_every_api_answer():
    with (
        SandboxServer(client_secret=SECRET, customers=3, latency=HELD) as fixed,
        pytest.raises(requests.exceptions.ReadTimeout),
    ):
        requests.get(f"{fixed.api_url}/api/v3/Inventory", headers={"Authorization": "Bearer x"}, timeout=IMPATIENT)


@pytest.mark.parametrize(
    ("latency", "method", "path", "seconds"),
    [
        (0.2, "GET", "/api/v3/Customers", 0.2),
        ({"POST /api/v3/SalesOrders": 0.2}, "POST", "/api/v3/SalesOrders", 0.2),
        ({"POST /api/v3/SalesOrders": 0.2}, "GET", "/api/v3/SalesOrders", 0.0),
        ({"/api/v3/": 0.1, "get /api/v3/Customers": 0.3}, "GET", "/api/v3/Customers", 0.3),  # the longest key counts
        ({"/api/v3/": 0.1, "GET /api/v3/Customers": 0.3}, "POST", "/api/v3/SalesOrders", 0.1),
        ("0.25", "POST", "/connect/token", 0.25),
    ],
)
def test_latency_for_a_request(latency, method, path, seconds):
    from sandbox.state import SandboxState

    assert SandboxState(SECRET, customers_per_tenant=1, latency=latency).latency_for(method, path) == seconds


@pytest.mark.parametrize("bad", [-1, 301, float("nan"), "soon", True, None, [0.2], {"/x": -1}, {"POST x": 1}])
def test_bad_latencies_are_refused(bad):
    with pytest.raises(ValueError):
        parse_latency(bad)


def test_extra_tenants_approved_reading_and_writing_and_survive_a_reset():
    with SandboxServer(client_secret=SECRET, customers=3, extra_tenants=(EXTRA,)) as running:
        running.state.reset()
        assert (
            requests.post(
                f"{running.api_url}/api/v3/SalesOrders",
                json=ORDER,
                headers=auth(running, tenant=EXTRA),
                timeout=PATIENT,
            ).status_code
            == 201
        )
        assert [o["tenant_id"] for o in running.state.orders()] == [EXTRA]
        assert len(running.state.customers(EXTRA)) == 3


def test_the_command_takes_latency_and_extra_tenants():
    flags = ["--latency", '{"POST /api/v3/SalesOrders": 0.2}', "--extra-tenant", EXTRA]
    with sandbox_command(*flags) as (base, banner):
        assert 'latency        {"POST /api/v3/SalesOrders": 0.2} s' in banner
        assert f"extra tenant   {EXTRA}" in banner
        assert requests.get(f"{base}/_sandbox/health", timeout=PATIENT).status_code == 200


@pytest.mark.parametrize("value", ["soon", "[0.2]", '{"SalesOrders": 1}', "-3"])
def test_the_command_refuses_a_bad_latency(value):
    done = subprocess.run(
        [sys.executable, "manage.py", "visma_sandbox", "--port", "0", "--latency", value],
        env={"DJANGO_SETTINGS_MODULE": "config.settings_test", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=PATIENT,
    )
    assert done.returncode == 1 and "--latency" in done.stderr


def test_the_tokens_control_endpoint_says_when_each_token_request_came(server):
    auth(server)
    auth(server)
    counted = requests.get(f"{server.base_url}/_sandbox/tokens", timeout=PATIENT).json()
    [(key, times)] = counted["token_times"].items()
    assert counted["token_requests"] == {key: 2} and len(times) == 2 and times == sorted(times)
    server.state.reset()
    assert requests.get(f"{server.base_url}/_sandbox/tokens", timeout=PATIENT).json()["token_times"] == {}
