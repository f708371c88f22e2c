"""Customer locations, and the delivery fields of an order: location, requested day, shipping address and contact."""

from __future__ import annotations

import pytest

from sandbox import schema
from sandbox.seed import SCOPE_WRITE, TENANT_FULL
from sandbox.server import SandboxServer
from tests.sandbox.orders_client import SO1, call, create, etag, read
from tests.sandbox.test_sandbox import ORDER, SECRET

ADDRESS = {"line1": "Kaigata 3", "postalCode": "5003", "city": "Bergen", "countryId": "NO"}


@pytest.fixture(scope="module")
def running():
    with SandboxServer(client_secret=SECRET, customers=7) as sandbox:
        yield sandbox


@pytest.fixture
def server(running):
    running.state.reset()
    return running


def locations(server, customer: str):
    return call(server, "GET", f"/api/v3/Customers/{customer}/locations")


def refused(response, field: str) -> bool:
    body = response.json()
    assert not schema.response_errors("SalesOrderValidationProblemDetails", body)
    assert all(detail["code"] in schema.error_codes() for detail in body["details"])
    return response.status_code == 400 and list(body["errors"]) == [field]


# --- locations ----------------------------------------------------------------------------------------------------
def test_every_customer_has_a_main_location_named_like_it_and_every_third_two_more(server):
    customers = {c["id"]: c for c in server.state.customers(TENANT_FULL)}
    for number, expected in [
        ("10000", ["MAIN", "WH2", "SHOP"]),
        ("10002", ["MAIN"]),
        ("10003", ["MAIN", "WH2", "SHOP"]),
    ]:
        answer = locations(server, number)
        assert answer.status_code == 200 and isinstance(answer.json(), list)
        assert [location["id"] for location in answer.json()] == expected
        for location in answer.json():
            assert not schema.response_errors("CustomerLocationItemDto", location)
        assert answer.json()[0]["name"] == customers[number]["name"]
    shop = locations(server, "10000").json()[2]
    assert shop["name"] == "Shop" and shop["address"]["line1"] and shop["address"]["country"]["id"]
    assert shop["contact"]["name"] and shop["contact"]["email"]


def test_inactive_locations_are_not_listed(server):
    assert [location["id"] for location in locations(server, "10001").json()] == ["MAIN"]


def test_an_unknown_customer_has_no_locations_but_a_404(server):
    answer = locations(server, "99999")
    assert answer.status_code == 404 and answer.headers["Content-Type"].startswith("application/problem+json")
    assert not schema.response_errors("ProblemDetails", answer.json())


def test_locations_need_the_read_scope(server):
    assert call(server, "GET", "/api/v3/Customers/10000/locations", scope=SCOPE_WRITE).status_code == 403


def test_a_new_customer_gets_a_main_location(server):
    server.state.add_customer(TENANT_FULL, id="C-NEW", name="Nytt Firma AS", country="NO")
    [main] = locations(server, "C-NEW").json()
    assert (main["id"], main["name"]) == ("MAIN", "Nytt Firma AS")


# --- the order's location -----------------------------------------------------------------------------------------
def test_an_active_location_is_stored_and_shown(server):
    create(server, customer={"id": "10000", "locationId": "WH2"})
    location = read(server)["customer"]["location"]
    assert (location["id"], location["name"]) == ("WH2", "Warehouse")
    assert not schema.response_errors("CustomerLocationDto", location)
    assert read(server, "/api/v3/SalesOrders")["value"][0]["location"] == "WH2"


@pytest.mark.parametrize(
    ("customer", "location"),
    [("10001", "OLD"), ("10000", "NOPE"), ("10001", "WH2"), ("10000", "main")],
)
def test_a_location_that_is_inactive_or_not_the_customers_is_400(server, customer, location):
    answer = call(
        server, "POST", "/api/v3/SalesOrders", json={**ORDER, "customer": {"id": customer, "locationId": location}}
    )
    assert refused(answer, "customer.locationId")
    assert server.state.orders() == []


def test_patch_checks_the_location_too(server):
    create(server, customer={"id": "10001"})
    tag = etag(server)
    answer = call(server, "PATCH", SO1, {"If-Match": tag}, json={"customer": {"locationId": "OLD"}})
    assert refused(answer, "customer.locationId") and etag(server) == tag
    assert call(server, "PATCH", SO1, {"If-Match": tag}, json={"customer": {"locationId": "MAIN"}}).status_code == 202
    assert read(server)["customer"]["location"]["id"] == "MAIN"


# --- address, requested day ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"shipping": {"address": {"line1": "Kaigata 3", "city": "Bergen"}}}, "shipping.address.countryId"),
        ({"shipping": {"address": {**ADDRESS, "countryId": None}}}, "shipping.address.countryId"),
        ({"shipping": {"address": {**ADDRESS, "countryId": ""}}}, "shipping.address.countryId"),
        ({"shipping": {"address": {}}}, "shipping.address.countryId"),
        ({"billing": {"address": {"line1": "Kaigata 3"}}}, "billing.address.countryId"),
        ({"date": "2026-05-10", "requestOn": "2026-05-09T23:00:00Z"}, "requestOn"),
        ({"requestOn": "2000-01-01"}, "requestOn"),
    ],
)
def test_missing_country_or_a_requested_day_before_the_order_date_is_400(server, change, field):
    assert refused(call(server, "POST", "/api/v3/SalesOrders", json={**ORDER, **change}), field)
    assert server.state.orders() == []


def test_a_requested_day_on_the_order_date_is_fine(server):
    create(server, date="2026-05-10T15:00:00Z", requestOn="2026-05-10")
    assert read(server)["requestOn"] == "2026-05-10T00:00:00.0000000Z"


def test_patch_refuses_a_requested_day_before_the_order_date_and_an_address_left_without_country(server):
    create(server, date="2026-05-10")
    tag = etag(server)
    assert refused(call(server, "PATCH", SO1, {"If-Match": tag}, json={"requestOn": "2026-05-01"}), "requestOn")
    no_country = {"shipping": {"address": {"line1": "Kaigata 3"}}}
    assert refused(call(server, "PATCH", SO1, {"If-Match": tag}, json=no_country), "shipping.address.countryId")
    assert etag(server) == tag


def test_delivery_fields_are_stored_and_shown_with_expand_shipping(server):
    contact = {"name": "Kari Nordmann", "attention": "Goods reception", "phone1": "+47 55 00 00 00"}
    create(
        server,
        customer={"id": "10000", "locationId": "SHOP"},
        requestOn="2099-02-03T00:00:00",
        shipping={"address": ADDRESS, "contact": contact},
    )
    order = read(server, expand="Shipping")
    assert not schema.response_errors("SalesOrderDto", order)
    assert order["requestOn"] == "2099-02-03T00:00:00.0000000Z"
    address = order["shipping"]["address"]
    assert address["overridesDefault"] and (address["line1"], address["city"]) == ("Kaigata 3", "Bergen")
    assert address["country"] == {"id": "NO", "name": "Norway"}
    assert order["shipping"]["contact"]["attention"] == "Goods reception"
    assert order["customer"]["location"]["id"] == "SHOP"


def test_without_an_address_the_location_address_is_shown(server):
    create(server, customer={"id": "10003", "locationId": "SHOP"})
    shop = locations(server, "10003").json()[2]
    shipping = read(server, expand="Shipping")["shipping"]
    assert shipping["address"]["line1"] == shop["address"]["line1"] and not shipping["address"]["overridesDefault"]
    assert shipping["contact"]["name"] == shop["contact"]["name"]
