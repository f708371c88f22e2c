"""Page size limits with Visma's validation body, the gateway's headers, and the sandbox's shiftable clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import requests

from sandbox.seed import TENANT_FULL
from sandbox.server import SandboxServer
from tests.sandbox.test_sandbox import ORDER, SECRET, api, auth, token

PAGED = ["/api/v3/Customers", "/api/v3/SalesOrders", "/api/v3/SalesOrders/SO", "/api/v3/Inventory"]
LINES = "/api/v3/SalesOrders/SO/000001/lines"
DAY = 24 * 3600


@pytest.fixture(scope="module", params=[100, 500])
def limited(request):
    with SandboxServer(client_secret=SECRET, customers=3, max_page_size=request.param) as running:
        yield running


@pytest.fixture
def server(limited):
    limited.state.reset()
    api(limited, "POST", "/api/v3/SalesOrders", json=ORDER)
    return limited


def assert_validation_problem(response: requests.Response, field: str, message: str) -> None:
    body = response.json()
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert body["type"] == "https://tools.ietf.org/html/rfc9110#section-15.5.1"
    assert body["title"] == "One or more validation errors occurred." and body["status"] == 400
    assert body["errors"] == {field: [message]}
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-00", body["traceId"])


# --- page size ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [*PAGED, LINES])
def test_every_paged_list_accepts_the_limit_and_refuses_one_more(server, path):
    limit = server.state.max_page_size
    assert api(server, "GET", path, params={"pageSize": limit}).status_code == 200
    message = f"The field pageSize must be between 1 and {limit}."
    assert_validation_problem(api(server, "GET", path, params={"pageSize": limit + 1}), "pageSize", message)
    assert_validation_problem(api(server, "GET", path, params={"pageSize": 0}), "pageSize", message)


@pytest.mark.parametrize("path", [*PAGED, LINES])
def test_negative_page_index_is_refused(server, path):
    response = api(server, "GET", path, params={"pageIndex": -1})
    assert_validation_problem(response, "pageIndex", "The field pageIndex must be between 0 and 2147483647.")


def test_a_list_without_page_size_stays_within_the_limit(server):
    """The lines list defaults to 1000 like Visma's, but never to more than the sandbox allows."""
    assert api(server, "GET", LINES).status_code == 200


def test_the_limit_can_change_at_run_time_and_reset_restores_it(server):
    configured = server.state.max_page_size
    server.state.max_page_size = 10
    assert api(server, "GET", "/api/v3/Customers", params={"pageSize": 11}).status_code == 400
    server.state.reset()
    assert server.state.max_page_size == configured


def test_default_limit_is_1000():
    with SandboxServer(client_secret=SECRET, customers=1) as default:
        assert default.state.max_page_size == 1000
        assert api(default, "GET", "/api/v3/Customers", params={"pageSize": 1000}).status_code == 200
        assert api(default, "GET", "/api/v3/Customers", params={"pageSize": 1001}).status_code == 400


def test_a_silent_cap_serves_fewer_customers_from_the_asked_offset_and_still_links_the_next_page():
    with SandboxServer(client_secret=SECRET, customers=25, silent_page_cap=10) as capped:
        numbers = [c["id"] for c in sorted(capped.state.customers(TENANT_FULL), key=lambda c: c["id"])]
        first = api(capped, "GET", "/api/v3/Customers", params={"pageSize": 20}).json()
        assert [c["id"] for c in first["value"]] == numbers[:10]
        assert first["totalCount"] == 25 and "pageIndex=1" in first["nextPage"]
        second = api(capped, "GET", "/api/v3/Customers", params={"pageSize": 20, "pageIndex": 1}).json()
        assert [c["id"] for c in second["value"]] == numbers[20:]  # from 1 * 20: customers 10 to 19 are never served
        assert second["nextPage"] is None
        small = api(capped, "GET", "/api/v3/Customers", params={"pageSize": 10, "pageIndex": 1}).json()
        assert [c["id"] for c in small["value"]] == numbers[10:20] and small["nextPage"]


def test_the_silent_cap_can_change_at_run_time_and_reset_restores_it(server):
    assert server.state.silent_page_cap is None
    server.state.silent_page_cap = 2
    assert len(api(server, "GET", "/api/v3/Customers", params={"pageSize": 3}).json()["value"]) == 2
    server.state.reset()
    assert server.state.silent_page_cap is None
    assert len(api(server, "GET", "/api/v3/Customers", params={"pageSize": 3}).json()["value"]) == 3
    with SandboxServer(client_secret=SECRET, customers=3, silent_page_cap=1) as capped:
        capped.state.silent_page_cap = None
        capped.state.reset()
        assert capped.state.silent_page_cap == 1


# --- headers ------------------------------------------------------------------------------------------------------
def test_every_answer_has_a_gateway_request_id_and_a_date_and_no_x_request_id(server):
    answers = [
        token(server),
        token(server, client_secret="wrong"),
        requests.get(server.api_url + "/api/v3/Customers", timeout=5),
        api(server, "GET", "/api/v3/Customers"),
        api(server, "GET", "/api/v3/Customers", params={"pageSize": 0}),
        api(server, "POST", "/api/v3/SalesOrders", json=ORDER),
    ]
    ids = [a.headers["apigw-requestid"] for a in answers]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{15}=", i) for i in ids) and len(set(ids)) == len(ids)
    assert all("X-Request-Id" not in a.headers for a in answers)
    for answer in answers:
        assert answer.headers["Date"].endswith(" GMT") and parsedate_to_datetime(answer.headers["Date"]).tzinfo


def test_created_order_location_is_lower_case_and_points_at_another_host(server):
    response = api(server, "POST", "/api/v3/SalesOrders", json=ORDER)
    assert "location" in list(response.raw.headers)  # header names as sent
    location = response.headers["location"]
    assert location == "https://alb.salesorder.visma.net/api/v3/SalesOrders/SO/000002"
    assert not location.startswith(server.api_url)


# --- clock offset -------------------------------------------------------------------------------------------------
def test_clock_offset_shifts_date_header_and_order_times():
    with SandboxServer(client_secret=SECRET, customers=1, clock_offset=-2 * DAY) as shifted:
        headers = auth(shifted)
        created = requests.post(shifted.api_url + "/api/v3/SalesOrders", json=ORDER, headers=headers, timeout=5)
        two_days_ago = datetime.now(UTC) - timedelta(days=2)
        assert abs(parsedate_to_datetime(created.headers["Date"]) - two_days_ago) < timedelta(hours=1)
        order = shifted.state.orders(TENANT_FULL)[0]
        assert order["createdAt"] == order["lastModified"]
        assert abs(datetime.fromisoformat(order["lastModified"]) - two_days_ago) < timedelta(hours=1)
        read = requests.get(shifted.api_url + "/api/v3/SalesOrders/SO/000001", headers=headers, timeout=5).json()
        assert read["lastModified"] == order["lastModified"]


def test_modified_since_compares_against_the_sandbox_clock(server):
    server.state.clock_offset = -2 * DAY
    api(server, "POST", "/api/v3/SalesOrders", json=ORDER)
    server.state.clock_offset = 0

    def listed(since: datetime) -> list[str]:
        params = {"modifiedSince": since.strftime("%Y-%m-%dT%H:%M:%S")}
        return [o["orderId"] for o in api(server, "GET", "/api/v3/SalesOrders", params=params).json()["value"]]

    now = datetime.now(UTC)
    assert listed(now - timedelta(days=1)) == ["000001"]
    assert listed(now - timedelta(days=3)) == ["000001", "000002"]


def test_clock_offset_is_restored_by_reset(server):
    server.state.clock_offset = 3600
    server.state.reset()
    assert server.state.clock_offset == 0
