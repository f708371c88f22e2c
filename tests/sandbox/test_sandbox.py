"""The sandbox over real HTTP on loopback: protocol, errors, schema conformance, faults, concurrency."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sandbox import schema
from sandbox.seed import DEMO_CLIENT_ID, SCOPE_READ, SCOPE_WRITE, TENANT_FULL, TENANT_NOT_APPROVED, TENANT_READ_ONLY
from sandbox.server import SandboxServer

SECRET = "sandbox-test-secret"
BOTH = f"{SCOPE_READ} {SCOPE_WRITE}"
ORDER = {
    "type": "SO",
    "customer": {"id": "10000", "refNo": "REF-1"},
    "orderLines": [{"inventoryId": "STOCK-100", "quantity": 2}],
}


@pytest.fixture(scope="module")
def server():
    with SandboxServer(client_secret=SECRET, customers=25) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(server):
    server.state.reset()
    server.state.rotate_client_secret(SECRET)
    yield


def token(server, tenant=TENANT_FULL, scope=BOTH, **overrides) -> requests.Response:
    data = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": SECRET, "scope": scope}
    data["tenant_id"] = tenant
    data.update(overrides)
    return requests.post(server.token_url, data={k: v for k, v in data.items() if v is not None}, timeout=5)


def auth(server, tenant=TENANT_FULL, scope=BOTH) -> dict:
    return {"Authorization": f"Bearer {token(server, tenant, scope).json()['access_token']}"}


def api(server, method, path, tenant=TENANT_FULL, scope=BOTH, **kwargs) -> requests.Response:
    return requests.request(method, server.api_url + path, headers=auth(server, tenant, scope), timeout=5, **kwargs)


# --- token endpoint ---------------------------------------------------------------------------------------------------
def test_token_success_has_the_oauth_fields(server):
    response = token(server)
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == BOTH
    assert body["access_token"]
    assert response.headers["apigw-requestid"] and "X-Request-Id" not in response.headers


def test_token_accepts_http_basic_credentials(server):
    data = {"grant_type": "client_credentials", "scope": SCOPE_READ, "tenant_id": TENANT_FULL}
    response = requests.post(server.token_url, data=data, auth=(DEMO_CLIENT_ID, SECRET), timeout=5)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": None}, 400, "invalid_request"),
        ({"scope": "vismanet_erp_service_api:read"}, 400, "invalid_scope"),
        ({"scope": ""}, 400, "invalid_scope"),
        ({"tenant_id": TENANT_NOT_APPROVED}, 400, "invalid_tenant"),
        ({"tenant_id": None}, 400, "invalid_tenant"),
        ({"tenant_id": TENANT_READ_ONLY}, 400, "invalid_scope"),
    ],
)
def test_token_errors_are_oauth2_json(server, overrides, status, error):
    response = token(server, **overrides)
    assert response.status_code == status
    assert response.json()["error"] == error and response.json()["error_description"]


def test_token_endpoint_wants_a_form(server):
    response = requests.post(server.token_url, json={"grant_type": "client_credentials"}, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_rotated_secret_stops_new_tokens_and_requests_are_counted(server):
    token(server)
    server.state.rotate_client_secret("new-secret")
    assert token(server).json()["error"] == "invalid_client"
    assert server.state.token_request_count(DEMO_CLIENT_ID, TENANT_FULL) == 2


def test_tokens_expire():
    with SandboxServer(client_secret=SECRET, token_lifetime=1) as short:
        headers = auth(short)
        assert requests.get(short.api_url + "/api/v3/Customers", headers=headers, timeout=5).status_code == 200
        time.sleep(1.2)
        response = requests.get(short.api_url + "/api/v3/Customers", headers=headers, timeout=5)
        assert response.status_code == 401 and "WWW-Authenticate" in response.headers


# --- API auth, scopes, tenants --------------------------------------------------------------------------------------
def test_api_needs_a_bearer_token(server):
    response = requests.get(server.api_url + "/api/v3/Customers", timeout=5)
    assert response.status_code == 401
    assert not schema.response_errors("ProblemDetails", response.json())


def test_write_needs_the_write_scope(server):
    response = api(server, "POST", "/api/v3/SalesOrders", scope=SCOPE_READ, json=ORDER)
    assert response.status_code == 403
    assert server.state.orders() == []


def test_data_is_scoped_to_the_tokens_tenant(server):
    server.state.add_customer(TENANT_READ_ONLY, id="77777", name="Only in read-only tenant")
    full = api(server, "GET", "/api/v3/Customers", params={"filter": "77777"}).json()
    other = api(
        server, "GET", "/api/v3/Customers", tenant=TENANT_READ_ONLY, scope=SCOPE_READ, params={"filter": "77777"}
    )
    assert full["value"] == [] and len(other.json()["value"]) == 1


# --- customers and inventory ----------------------------------------------------------------------------------------
def test_customers_are_paged_zero_based_with_next_page_links(server):
    first = api(server, "GET", "/api/v3/Customers", params={"pageSize": 10}).json()
    assert len(first["value"]) == 10 and first["totalCount"] == 25 and "pageIndex=1" in first["nextPage"]
    last = requests.get(first["nextPage"].replace("pageIndex=1", "pageIndex=2"), headers=auth(server), timeout=5).json()
    assert len(last["value"]) == 5 and last["nextPage"] is None
    assert not schema.response_errors("CustomerDtoPagedResult", first)


@pytest.mark.parametrize(
    "params", [{"pageSize": 0}, {"pageSize": 1001}, {"pageIndex": -1}, {"pageIndex": 9}, {"pageSize": "x"}]
)
def test_customers_out_of_range_paging_is_400(server, params):
    response = api(server, "GET", "/api/v3/Customers", params=params)
    assert response.status_code == 400
    assert not schema.response_errors("ProblemDetails", response.json())


def test_customer_filter_matches_number_and_name(server):
    name = server.state.customers(TENANT_FULL)[3]["name"]
    body = api(server, "GET", "/api/v3/Customers", params={"filter": name.split()[0].lower()}).json()
    assert body["value"] and all(name.split()[0].lower() in c["name"].lower() for c in body["value"])


def test_inventory_lists_items_per_spec(server):
    body = api(server, "GET", "/api/v3/Inventory", params={"pageSize": 100}).json()
    assert {"STOCK-100", "DISCOUNT"} <= {i["inventoryId"] for i in body["value"]}
    assert not schema.response_errors("InventoryItemAvailabilityDtoPagedResult", body)


# --- sales orders ---------------------------------------------------------------------------------------------------
def test_create_order_answers_201_with_location_and_stores_it(server):
    response = api(server, "POST", "/api/v3/SalesOrders", json=ORDER)
    assert response.status_code == 201 and response.content == b""
    assert response.headers["Location"] == "https://alb.salesorder.visma.net/api/v3/SalesOrders/SO/000001"
    stored = server.state.orders()
    assert len(stored) == 1 and stored[0]["body"] == ORDER and stored[0]["customerRefNo"] == "REF-1"
    second = api(server, "POST", "/api/v3/SalesOrders", json=ORDER)
    assert second.headers["Location"].endswith("/SO/000002")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"unknownField": 1}, "unknownField", "0003-InvalidValue"),
        ({"type": None}, "type", "0003-InvalidValue"),
        ({"customer": {"id": "10000", "order": "x" * 41}}, "customer.order", "0002-InvalidLength"),
        ({"customer": {"id": "10000", "extra": 1}}, "customer.extra", "0003-InvalidValue"),
        ({"status": "Open-ish"}, "status", "0004-ValueNotAllowed"),
        ({"type": "ZZ"}, "type", "1704-InvalidOrderType"),
        ({"customer": {"id": "nope"}}, "customer.id", "1400-CustomerLookupException"),
        ({"customer": {"id": "10008"}}, "customer.id", "1407-InvalidCustomerStatus"),
        (
            {"orderLines": [{"inventoryId": "STOCK-100", "quantity": 1}, {"inventoryId": "NOPE", "quantity": 1}]},
            "orderLines[1].inventoryId",
            "1804-InventoryIdNotFound",
        ),
        (
            {"orderLines": [{"inventoryId": "STOCK-100", "quantity": 1, "taxCategoryId": "BAD"}]},
            "orderLines[0].taxCategoryId",
            "1805-InvalidTaxCategoryId",
        ),
        (
            {"orderLines": [{"inventoryId": "STOCK-100", "quantity": -1}]},
            "orderLines[0].quantity",
            "1809-InvalidQuantityForType",
        ),
        ({"orderLines": [{"quantity": 1}]}, "orderLines[0].inventoryId", "0001-NullNotAllowed"),
        (
            {"orderLines": [{"inventoryId": "STOCK-100", "quantity": "two"}]},
            "orderLines[0].quantity",
            "0003-InvalidValue",
        ),
    ],
)
def test_invalid_orders_get_validation_problem_details(server, change, field, code):
    response = api(server, "POST", "/api/v3/SalesOrders", json={**ORDER, **change})
    body = response.json()
    assert response.status_code == 400
    assert field in body["errors"]
    assert code in {d["code"] for d in body["details"]}
    assert all(d["code"] in schema.error_codes() for d in body["details"])
    assert not schema.response_errors("SalesOrderValidationProblemDetails", body)
    assert server.state.orders() == []


def test_negative_quantity_is_allowed_for_misc_charges(server):
    order = {**ORDER, "orderLines": [{"inventoryId": "DISCOUNT", "quantity": -1, "unitPrice": 10}]}
    assert api(server, "POST", "/api/v3/SalesOrders", json=order).status_code == 201


def test_malformed_json_and_wrong_media_type_are_rejected(server):
    headers = {**auth(server), "Content-Type": "application/json"}
    assert (
        requests.post(server.api_url + "/api/v3/SalesOrders", data=b"{nope", headers=headers, timeout=5).status_code
        == 400
    )
    headers["Content-Type"] = "text/plain"
    assert (
        requests.post(server.api_url + "/api/v3/SalesOrders", data=b"{}", headers=headers, timeout=5).status_code == 415
    )


def test_order_list_filters_and_reads_match_the_spec(server):
    api(server, "POST", "/api/v3/SalesOrders", json=ORDER)
    api(server, "POST", "/api/v3/SalesOrders", json={**ORDER, "customer": {"id": "10001", "order": "PO-9"}})
    listed = api(server, "GET", "/api/v3/SalesOrders", params={"customerId": "10000"}).json()
    assert [o["customerRefNo"] for o in listed["value"]] == ["REF-1"]
    assert not schema.response_errors("SalesOrderListDtoPagedResult", listed)
    by_filter = api(server, "GET", "/api/v3/SalesOrders", params={"filter": "po-9"}).json()
    assert [o["customerOrder"] for o in by_filter["value"]] == ["PO-9"]
    since = api(server, "GET", "/api/v3/SalesOrders", params={"modifiedSince": "2999-01-01T00:00:00"}).json()
    assert since["value"] == []
    desc = api(server, "GET", "/api/v3/SalesOrders", params={"orderBy": "orderId desc"}).json()
    assert [o["orderId"] for o in desc["value"]] == ["000002", "000001"]
    assert api(server, "GET", "/api/v3/SalesOrders", params={"orderBy": "price"}).status_code == 400
    single = api(server, "GET", "/api/v3/SalesOrders/SO/000001").json()
    assert not schema.response_errors("SalesOrderDto", single) and single["customer"]["refNo"] == "REF-1"
    lines = api(server, "GET", "/api/v3/SalesOrders/SO/000001/lines").json()
    assert not schema.response_errors("SalesOrderLineDtoPagedResult", lines)
    missing = api(server, "GET", "/api/v3/SalesOrders/SO/999999")
    assert missing.status_code == 404 and not schema.response_errors("ProblemDetails", missing.json())


def test_unknown_routes_and_methods(server):
    assert api(server, "GET", "/api/v3/Nothing").status_code == 404
    assert api(server, "DELETE", "/api/v3/Customers").status_code == 405


# --- rate limits ----------------------------------------------------------------------------------------------------
def test_every_response_carries_rate_limit_headers_and_429_has_retry_after():
    with SandboxServer(client_secret=SECRET, rate_limit=3, rate_window=60) as limited:
        headers = auth(limited)
        answers = [requests.get(limited.api_url + "/api/v3/Customers", headers=headers, timeout=5) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["X-RateLimit-Limit"] == "3" and answers[2].headers["X-RateLimit-Remaining"] == "0"
        assert answers[0].headers["X-RateLimit-Policy"] == "4-fixed-window"
        assert int(answers[3].headers["Retry-After"]) > 0


# --- faults ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("503", 503), ("429", 429), ("expired_token", 401)])
def test_status_faults(server, kind, status):
    server.state.set_faults([{"method": "GET", "path": "/api/v3/Customers", "kind": kind, "times": 1}])
    headers = auth(server)
    assert requests.get(server.api_url + "/api/v3/Customers", headers=headers, timeout=5).status_code == status
    assert requests.get(server.api_url + "/api/v3/Customers", headers=headers, timeout=5).status_code == 200


def test_reset_fault_closes_the_connection(server):
    server.state.set_faults([{"path": "/api/v3/Customers", "kind": "reset", "times": 1}])
    with pytest.raises(requests.ConnectionError):
        requests.get(server.api_url + "/api/v3/Customers", headers=auth(server), timeout=5)


def test_accept_then_drop_creates_the_order_but_sends_no_answer(server):
    server.state.set_faults([{"method": "POST", "path": "/api/v3/SalesOrders", "kind": "accept_then_drop", "times": 1}])
    with pytest.raises(requests.ConnectionError):
        api(server, "POST", "/api/v3/SalesOrders", json=ORDER)
    assert len(server.state.orders()) == 1


def test_malformed_json_and_slow_faults(server):
    server.state.set_faults([{"path": "/api/v3/Customers", "kind": "malformed_json", "times": 1}])
    response = api(server, "GET", "/api/v3/Customers")
    with pytest.raises(ValueError):
        response.json()
    server.state.set_faults([{"path": "/api/v3/Customers", "kind": "slow", "delay": 1.5, "times": 1}])
    with pytest.raises(requests.ReadTimeout):
        requests.get(server.api_url + "/api/v3/Customers", headers=auth(server), timeout=(1, 0.5))


def test_probability_and_sequence_faults(server):
    server.state.set_faults([{"path": "/api/v3/Customers", "kind": "500", "sequence": [False, True, False]}])
    headers = auth(server)
    codes = [
        requests.get(server.api_url + "/api/v3/Customers", headers=headers, timeout=5).status_code for _ in range(3)
    ]
    assert codes == [200, 500, 200]
    server.state.set_faults([{"path": "/api/v3/Customers", "kind": "503", "probability": 1.0}])
    assert requests.get(server.api_url + "/api/v3/Customers", headers=headers, timeout=5).status_code == 503


def test_control_endpoints(server):
    url = server.base_url + "/_sandbox"
    plan = [{"method": "POST", "path": "/api/v3/SalesOrders", "kind": "500", "times": 1}]
    assert requests.post(f"{url}/faults", data=json.dumps(plan), timeout=5).json()["faults"] == 1
    assert requests.post(f"{url}/faults", data='[{"kind": "explode"}]', timeout=5).status_code == 400
    assert api(server, "POST", "/api/v3/SalesOrders", json=ORDER).status_code == 500
    for endpoint in ("orders", "requests", "tokens", "health"):
        body = requests.get(f"{url}/{endpoint}", timeout=5).json()
        assert "for tests and demos only" in body["sandbox"]
    assert requests.delete(f"{url}/faults", timeout=5).json()["faults"] == 0
    assert requests.post(f"{url}/reset", timeout=5).json()["reset"] is True


# --- concurrency, persistence, command -------------------------------------------------------------------------------
def test_many_clients_at_once_get_unique_order_numbers(server):
    headers = auth(server)

    def post(_):
        return requests.post(server.api_url + "/api/v3/SalesOrders", json=ORDER, headers=headers, timeout=10)

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(post, range(200)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.headers["Location"] for a in answers}) == 200 == len(server.state.orders())


def test_state_file_keeps_orders_across_restarts(tmp_path):
    path = str(tmp_path / "state.json")
    with SandboxServer(client_secret=SECRET, state_file=path) as first:
        api(first, "POST", "/api/v3/SalesOrders", json=ORDER)
    with SandboxServer(client_secret=SECRET, state_file=path) as second:
        assert len(second.state.orders()) == 1
        assert api(second, "POST", "/api/v3/SalesOrders", json=ORDER).headers["Location"].endswith("/SO/000002")


def test_management_command_serves_and_stops(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"VISMA_SANDBOX_CLIENT_SECRET": "cmd-secret", "DJANGO_SETTINGS_MODULE": "config.settings_test", "PATH": ""}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "visma_sandbox", "--port", str(port), "--customers", "3"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        data = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": "cmd-secret"}
        data.update({"scope": SCOPE_READ, "tenant_id": TENANT_FULL})
        assert requests.post(f"http://127.0.0.1:{port}/connect/token", data=data, timeout=5).status_code == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert "client secret  cmd-secret" in output and "NOT approved" in output


def test_rate_limit_headers_are_on_token_and_error_responses_too(server):
    for response in (
        token(server),
        token(server, client_secret="wrong"),
        requests.get(server.api_url + "/api/v3/Customers", timeout=5),
    ):
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Policy"} <= set(
            response.headers
        )


def test_faults_can_be_configured_at_start():
    plan = [{"method": "GET", "path": "/api/v3/Customers", "kind": "503", "times": 1}]
    with SandboxServer(client_secret=SECRET, faults=plan) as faulty:
        headers = auth(faulty)
        assert requests.get(faulty.api_url + "/api/v3/Customers", headers=headers, timeout=5).status_code == 503
        assert requests.get(faulty.api_url + "/api/v3/Customers", headers=headers, timeout=5).status_code == 200
