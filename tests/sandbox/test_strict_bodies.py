"""Order bodies checked against the formats the OpenAPI document declares, taken order numbers, stable ordering."""

from __future__ import annotations

import pytest
import requests

from sandbox import schema
from sandbox.server import SandboxServer
from tests.sandbox.test_sandbox import ORDER, SECRET, api, auth


@pytest.fixture(scope="module")
def running():
    with SandboxServer(client_secret=SECRET, customers=3) as sandbox:
        yield sandbox


@pytest.fixture
def server(running):
    running.state.reset()
    return running


def rejected(response: requests.Response, field: str, code: str = "0003-InvalidValue") -> bool:
    body = response.json()
    assert not schema.response_errors("SalesOrderValidationProblemDetails", body)
    return response.status_code == 400 and field in body["errors"] and code in {d["code"] for d in body["details"]}


# --- formats ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date": "2024-13-01"}, "date"),
        ({"date": "yesterday"}, "date"),
        ({"requestOn": "2024-02-30T10:00:00Z"}, "requestOn"),
        ({"cancelBy": "2024-W01-1"}, "cancelBy"),
        ({"customer": {"id": "10000", "contactId": 2**31}}, "customer.contactId"),
        ({"customer": {"id": "10000", "contactId": -(2**31) - 1}}, "customer.contactId"),
        ({"orderLines": [{"inventoryId": "STOCK-100", "quantity": 1, "sortOrder": 2**40}]}, "orderLines[0].sortOrder"),
        ({"orderLines": [{"inventoryId": "STOCK-100", "quantity": 1, "sortOrder": 1.5}]}, "orderLines[0].sortOrder"),
    ],
)
def test_values_outside_their_declared_format_are_rejected(server, change, field):
    response = api(server, "POST", "/api/v3/SalesOrders", json={**ORDER, **change})
    assert rejected(response, field)
    assert server.state.orders() == []


@pytest.mark.parametrize("quantity", [b"1e400", b"NaN", b"-Infinity"])
def test_numbers_that_are_no_double_are_rejected(server, quantity):
    line = b'{"inventoryId": "STOCK-100", "quantity": ' + quantity + b"}"
    body = b'{"type": "SO", "customer": {"id": "10000"}, "orderLines": [' + line + b"]}"
    headers = {**auth(server), "Content-Type": "application/json"}
    response = requests.post(f"{server.api_url}/api/v3/SalesOrders", data=body, headers=headers, timeout=5)
    assert rejected(response, "orderLines[0].quantity")


@pytest.mark.parametrize(
    "change",
    [
        {"date": "2024-05-01"},
        {"date": "2024-05-01T10:00"},
        {"date": "2024-05-01T10:00:00Z", "requestOn": "2024-05-02T10:00:00.1234567+02:00"},
        {"customer": {"id": "10000", "contactId": 2**31 - 1}},
        {"orderLines": [{"inventoryId": "STOCK-100", "quantity": 2, "unitPrice": 1e300, "sortOrder": -(2**31)}]},
    ],
)
def test_values_inside_their_format_are_accepted(server, change):
    assert api(server, "POST", "/api/v3/SalesOrders", json={**ORDER, **change}).status_code == 201


@pytest.mark.parametrize(
    ("value", "name", "valid"),
    [
        (2**63 - 1, "int64", True),
        (2**63, "int64", False),
        (-(2**63), "int64", True),
        (7.9e28, "decimal", True),
        (8e28, "decimal", False),
        (3.5e38, "float", False),
        ("not a number", "int32", True),
        (True, "int32", True),
    ],
)
def test_numeric_formats(value, name, valid):
    """Formats not used by the order body are still checked the same way; other types are the type check's job."""
    assert schema.FORMATS.conforms(value, name) is valid


# --- taken order numbers ------------------------------------------------------------------------------------------
def test_override_number_series_uses_the_given_number_and_refuses_it_twice(server):
    order = {**ORDER, "overrideNumberSeries": True, "orderId": "WEB-1"}
    first = api(server, "POST", "/api/v3/SalesOrders", json=order)
    assert first.status_code == 201 and first.headers["location"].endswith("/SalesOrders/SO/WEB-1")
    again = api(server, "POST", "/api/v3/SalesOrders", json=order)
    assert again.status_code == 409
    assert again.headers["Content-Type"].startswith("application/problem+json")
    assert again.json()["status"] == 409 and "WEB-1" in again.json()["detail"]
    assert not schema.response_errors("ProblemDetails", again.json())
    assert api(server, "POST", "/api/v3/SalesOrders", json={**order, "type": "QT"}).status_code == 201
    assert [o["orderId"] for o in server.state.orders()] == ["WEB-1", "WEB-1"]


def test_override_number_series_needs_an_order_id(server):
    response = api(server, "POST", "/api/v3/SalesOrders", json={**ORDER, "overrideNumberSeries": True})
    assert rejected(response, "orderId", "0001-NullNotAllowed")


def test_the_number_series_skips_numbers_taken_by_hand(server):
    api(server, "POST", "/api/v3/SalesOrders", json={**ORDER, "overrideNumberSeries": True, "orderId": "000001"})
    assert api(server, "POST", "/api/v3/SalesOrders", json=ORDER).headers["location"].endswith("/SO/000002")


def test_without_override_a_given_order_id_is_ignored(server):
    response = api(server, "POST", "/api/v3/SalesOrders", json={**ORDER, "orderId": "MINE"})
    assert response.headers["location"].endswith("/SO/000001")


# --- ordering -----------------------------------------------------------------------------------------------------
def ids(server, **params) -> list[str]:
    response = api(server, "GET", "/api/v3/SalesOrders", params=params)
    assert response.status_code == 200
    return [o["orderId"] for o in response.json()["value"]]


def test_order_by_created_last_modified_and_order_id(server):
    for offset in (0, -3600, 60):  # created one, an hour before it, then a minute after it
        server.state.clock_offset = offset
        api(server, "POST", "/api/v3/SalesOrders", json=ORDER)
    assert (
        ids(server)
        == ids(server, orderBy="orderId")
        == ids(server, orderBy="orderId asc")
        == ["000001", "000002", "000003"]
    )
    assert ids(server, orderBy="orderId desc") == ["000003", "000002", "000001"]
    assert (
        ids(server, orderBy="lastModified") == ids(server, orderBy="lastModified asc") == ["000002", "000001", "000003"]
    )
    assert ids(server, orderBy="created desc") == ["000003", "000001", "000002"]
    assert ids(server, orderBy="LASTMODIFIED DESC") == ["000003", "000001", "000002"]


@pytest.mark.parametrize("order_by", ["price", "orderId sideways", "created asc desc", "date"])
def test_other_order_by_values_are_400(server, order_by):
    response = api(server, "GET", "/api/v3/SalesOrders", params={"orderBy": order_by})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["orderBy"]


def test_paging_by_last_modified_is_stable(server):
    for _ in range(7):
        api(server, "POST", "/api/v3/SalesOrders", json=ORDER)
    walked, index = [], 0
    while True:
        page = api(
            server,
            "GET",
            "/api/v3/SalesOrders",
            params={"orderBy": "lastModified asc", "pageSize": 3, "pageIndex": index},
        ).json()
        walked += [o["orderId"] for o in page["value"]]
        if not page["nextPage"]:
            break
        index += 1
    assert walked == ids(server, orderBy="lastModified asc") and len(set(walked)) == 7


def test_every_order_has_last_modified_from_creation(server):
    api(server, "POST", "/api/v3/SalesOrders", json=ORDER)
    stored = server.state.orders()[0]
    assert stored["lastModified"] == stored["createdAt"]
    assert api(server, "GET", "/api/v3/SalesOrders").json()["value"][0]["lastModified"] == stored["lastModified"]
