"""Faults below HTTP: garbage instead of an answer, a late commit, a slow drip, and a sandbox that is down."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from sandbox.server import SandboxServer
from sandbox.state import Fault
from tests.sandbox.test_sandbox import ORDER, SECRET, api, auth

POST_ORDERS = {"method": "POST", "path": "/api/v3/SalesOrders"}


@pytest.fixture(scope="module")
def plain():
    with SandboxServer(client_secret=SECRET, customers=3) as running:
        yield running


@pytest.fixture(scope="module")
def tls():
    with SandboxServer(client_secret=SECRET, customers=3, tls=True) as running:
        yield running


@pytest.fixture
def server(plain):
    plain.state.reset()
    return plain


@pytest.fixture
def https(tls):
    tls.state.reset()
    return tls


def address(server) -> tuple[str, int]:
    host, port = server.base_url.split("://")[1].split(":")
    return host, int(port)


def is_refused(server) -> bool:
    try:
        socket.create_connection(address(server), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def wait_until_up(server) -> None:
    deadline = time.monotonic() + 10
    while is_refused(server):
        assert time.monotonic() < deadline, "the sandbox did not come back"
        time.sleep(0.05)


def health(server, session=requests) -> bool:
    return session.get(f"{server.base_url}/_sandbox/health", verify=server.ca_path or True, timeout=5).ok


# --- tls_garbage --------------------------------------------------------------------------------------------------
def test_tls_garbage_creates_the_order_then_answers_with_bytes_that_are_not_tls(https):
    https.state.set_faults([{**POST_ORDERS, "kind": "tls_garbage", "times": 1}])
    headers = {"Authorization": f"Bearer {token_over_tls(https)}"}
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(
            f"{https.api_url}/api/v3/SalesOrders", json=ORDER, headers=headers, verify=https.ca_path, timeout=5
        )
    assert len(https.state.orders()) == 1


def test_tls_garbage_on_plain_http_is_not_a_status_line(server):
    server.state.set_faults([{"path": "/api/v3/Customers", "kind": "tls_garbage"}])
    with pytest.raises(requests.ConnectionError):
        api(server, "GET", "/api/v3/Customers")
    with socket.create_connection(address(server), timeout=5) as raw:
        raw.sendall(b"GET /api/v3/Customers HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        first = raw.recv(100)
    assert first and not first.startswith(b"HTTP/")


def token_over_tls(server) -> str:
    data = {"grant_type": "client_credentials", "client_id": "portal-demo-app", "client_secret": SECRET}
    data.update({"scope": "visma.net.erp.salesorder:read visma.net.erp.salesorder:write"})
    data["tenant_id"] = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
    return requests.post(server.token_url, data=data, verify=server.ca_path, timeout=5).json()["access_token"]


# --- commit_after -------------------------------------------------------------------------------------------------
def test_commit_after_drops_the_answer_and_creates_the_order_later(server):
    server.state.set_faults([{**POST_ORDERS, "kind": "commit_after", "delay": 0.5, "times": 1}])
    headers = auth(server)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{server.api_url}/api/v3/SalesOrders", json=ORDER, headers=headers, timeout=5)
    listed = requests.get(f"{server.api_url}/api/v3/SalesOrders", headers=headers, timeout=5).json()
    assert listed["value"] == []
    assert requests.get(f"{server.api_url}/api/v3/SalesOrders/SO/000001", headers=headers, timeout=5).status_code == 404
    deadline = time.monotonic() + 10
    while not server.state.orders():
        assert time.monotonic() < deadline, "the order never appeared"
        time.sleep(0.05)
    listed = requests.get(f"{server.api_url}/api/v3/SalesOrders", headers=headers, timeout=5).json()
    assert [o["orderId"] for o in listed["value"]] == ["000001"]


def test_reset_cancels_a_pending_commit(server):
    server.state.set_faults([{**POST_ORDERS, "kind": "commit_after", "delay": 0.2, "times": 1}])
    with pytest.raises(requests.ConnectionError):
        api(server, "POST", "/api/v3/SalesOrders", json=ORDER)
    server.state.reset()
    time.sleep(0.4)
    assert server.state.orders() == []


# --- slow_drip ----------------------------------------------------------------------------------------------------
def test_slow_drip_sends_one_byte_at_a_time(server):
    server.state.set_faults([{"path": "/api/v3/Customers", "kind": "slow_drip", "delay": 0.5}])
    with socket.create_connection(address(server), timeout=5) as raw:
        raw.sendall(b"GET /api/v3/Customers HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        first = raw.recv(100)
    assert b"HTTP/1.1 401".startswith(first) and len(first) < 3
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{server.api_url}/api/v3/Customers", timeout=(2, 0.1))


def test_slow_drip_answer_arrives_whole_in_the_end(server):
    server.state.set_faults([{"path": "/api/v3/Customers", "kind": "slow_drip", "delay": 0.0005}])
    response = requests.get(f"{server.api_url}/api/v3/Customers", timeout=5)
    assert response.status_code == 401 and response.json()["status"] == 401


def test_slow_drip_waits_three_seconds_by_default():
    assert Fault.from_dict({"kind": "slow_drip"}).delay == 3.0
    assert Fault.from_dict({"kind": "slow_drip", "delay": 0.25}).delay == 0.25


# --- refuse -------------------------------------------------------------------------------------------------------
def test_pause_refuses_connections_and_resume_comes_back_on_the_same_port_with_state(server):
    headers = auth(server)
    assert api(server, "POST", "/api/v3/SalesOrders", json=ORDER).status_code == 201
    before = server.base_url
    server.pause()
    assert is_refused(server)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.api_url}/api/v3/SalesOrders", headers=headers, timeout=5)
    server.resume()
    assert server.base_url == before
    listed = requests.get(f"{server.api_url}/api/v3/SalesOrders", headers=headers, timeout=5).json()
    assert [o["orderId"] for o in listed["value"]] == ["000001"]


def test_pause_cuts_kept_alive_connections(server):
    with requests.Session() as session:
        assert health(server, session)
        server.pause()
        with pytest.raises(requests.ConnectionError):
            health(server, session)
        server.resume()
        assert health(server, session)


def test_refuse_for_comes_back_by_itself(server):
    server.refuse_for(0.5)
    assert is_refused(server)
    wait_until_up(server)
    assert health(server)


def test_refuse_fault_takes_the_sandbox_down_for_its_delay(server):
    server.state.set_faults([{"path": "/api/v3/Customers", "kind": "refuse", "delay": 0.5, "times": 1}])
    with pytest.raises(requests.ConnectionError):
        api(server, "GET", "/api/v3/Customers")
    assert is_refused(server)
    wait_until_up(server)
    assert api(server, "GET", "/api/v3/Customers").status_code == 200


def test_refuse_through_the_control_api(server):
    answer = requests.post(f"{server.base_url}/_sandbox/refuse", data=json.dumps({"seconds": 0.5}), timeout=5)
    assert answer.json()["refusing_for"] == 0.5
    assert is_refused(server)
    wait_until_up(server)
    assert health(server)
    bad = requests.post(f"{server.base_url}/_sandbox/refuse", data="[1]", timeout=5)
    assert bad.status_code == 400 and not is_refused(server)


def test_https_comes_back_as_https(https):
    https.pause()
    assert is_refused(https)
    https.resume()
    assert health(https)


def test_reset_brings_the_sandbox_back_and_an_old_timer_does_not_undo_a_later_pause(server):
    server.refuse_for(0.3)
    server.state.reset()
    assert health(server)
    server.pause()
    time.sleep(0.5)
    assert is_refused(server)
    server.state.reset()
    assert health(server)
