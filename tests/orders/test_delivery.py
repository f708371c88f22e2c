"""Deliver where the customer wants: delivery locations from Visma, a delivery address and contact for one order, a
requested date, the order type from the tenant's list and the customer's currency; on the form, in the payload, on
the order page, and over HTTP to the sandbox."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from orders import payload
from orders.models import SalesOrder, SalesOrderLine
from sandbox.seed import TENANT_READ_ONLY
from tenants.locations import delivery_locations
from tenants.models import Customer, Tenant
from tests.conftest import logged_in
from tests.orders.test_order_views import THREE_LINES, form_data

pytestmark = pytest.mark.django_db
State = SalesOrder.State

ADDRESS = {
    "delivery_line1": "Kaigaten 4",
    "delivery_line2": "Port 2",
    "delivery_postal_code": "5003",
    "delivery_city": "Bergen",
    "delivery_country": "no",
}
CONTACT = {
    "delivery_contact_name": "Kari Nordmann",
    "delivery_contact_attention": "Goods reception",
    "delivery_contact_phone": "+47 55 00 00 00",
    "delivery_contact_email": "kari@example.com; lager@example.com",
}


def new_order_url(customer) -> str:
    return reverse("orders:order-create") + f"?customer={customer.pk}"


def post_order(client, customer, **header):
    return client.post(new_order_url(customer), form_data(customer, THREE_LINES[:1], **header))


def location_calls(sandbox, number: str) -> int:
    path = f"/api/v3/Customers/{number}/locations"
    return sum(1 for entry in sandbox.state.request_log() if entry["path"] == path)


def delivered_order(tenant, customer, **fields) -> SalesOrder:
    order = SalesOrder.objects.create(tenant=tenant, customer=customer, date=date(2026, 11, 25), **fields)
    SalesOrderLine.objects.create(
        order=order, position=1, inventory_id="STOCK-100", quantity=Decimal(2), unit_price=Decimal("10.50")
    )
    return order


# --- the form ------------------------------------------------------------------------------------------------------
def test_a_delivery_address_contact_and_date_are_saved_with_the_order(clerk_client, customers):
    response = post_order(clerk_client, customers["10002"], request_on="2026-12-03", **ADDRESS, **CONTACT)
    order = SalesOrder.objects.get()
    assert response.status_code == 302
    assert order.request_on == date(2026, 12, 3)
    assert (order.delivery_line1, order.delivery_line2, order.delivery_line3) == ("Kaigaten 4", "Port 2", "")
    assert (order.delivery_postal_code, order.delivery_city, order.delivery_country) == ("5003", "Bergen", "NO")
    assert order.delivery_contact_name == "Kari Nordmann" and order.delivery_contact_attention == "Goods reception"
    assert order.delivery_contact_email == "kari@example.com;lager@example.com"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"delivery_line1": "Kaigaten 4"}, "delivery_country", "Visma needs it with a delivery address"),
        ({"delivery_city": "Bergen", "delivery_country": ""}, "delivery_country", "Visma needs it with a delivery"),
        ({"delivery_country": "Norway"}, "delivery_country", "Use the two-letter country code, e.g. NO."),
        ({"delivery_country": "N1"}, "delivery_country", "Use the two-letter country code, e.g. NO."),
        ({"delivery_line1": "x" * 51, "delivery_country": "NO"}, "delivery_line1", "at most 50 characters (it has 51)"),
        ({"delivery_line3": "x" * 51, "delivery_country": "NO"}, "delivery_line3", "at most 50 characters"),
        ({"delivery_postal_code": "1" * 21, "delivery_country": "NO"}, "delivery_postal_code", "at most 20 characters"),
        ({"delivery_city": "c" * 51, "delivery_country": "NO"}, "delivery_city", "at most 50 characters"),
        ({"delivery_contact_name": "n" * 256}, "delivery_contact_name", "at most 255 characters"),
        ({"delivery_contact_attention": "a" * 256}, "delivery_contact_attention", "at most 255 characters"),
        ({"delivery_contact_phone": "1" * 51}, "delivery_contact_phone", "at most 50 characters"),
        ({"delivery_contact_email": "kari at example"}, "delivery_contact_email", "several separated by “;”"),
        ({"delivery_contact_email": "kari@example.com;nobody"}, "delivery_contact_email", "like name@example.com"),
        ({"delivery_contact_email": "k@example.com;" * 19}, "delivery_contact_email", "at most 255 characters"),
        ({"delivery_city": "Ber\ngen", "delivery_country": "NO"}, "delivery_city", "Use one line"),
        ({"request_on": "2026-11-24"}, "request_on", "cannot be before the order date"),
        ({"request_on": "2026-02-30"}, "request_on", "Enter a valid date"),
        ({"location_id": "L" * 31}, "location_id", "at most 30 characters"),
    ],
)
def test_delivery_input_is_checked_as_visma_would_and_shown_next_to_the_field(
    clerk_client, customers, sandbox, change, field, message
):
    page = post_order(clerk_client, customers["10002"], **change).content.decode()
    assert message in page
    summary = re.search(r'id="error-summary".*?</div>', page, re.S).group(0)
    assert f'href="#id_{field}"' in summary
    assert not SalesOrder.objects.exists()
    assert not any(entry["path"] == "/api/v3/SalesOrders" for entry in sandbox.state.request_log())


def test_a_requested_date_on_the_order_date_is_fine(clerk_client, customers):
    assert post_order(clerk_client, customers["10002"], request_on="2026-11-25").status_code == 302


def test_an_address_with_errors_opens_the_delivery_address_section(clerk_client, customers):
    closed = clerk_client.get(new_order_url(customers["10002"])).content.decode()
    assert re.search(r"<details[^>]*data-delivery-address>", closed)
    page = post_order(clerk_client, customers["10002"], delivery_line1="Kaigaten 4").content.decode()
    assert re.search(r"<details[^>]*data-delivery-address open>", page)
    assert "<summary>Deliver to another address</summary>" in page


def test_the_order_type_is_chosen_from_the_tenants_list_the_first_by_default(clerk_client, customers, tenant):
    Tenant.objects.filter(pk=tenant.pk).update(order_types="SE, SO")
    page = clerk_client.get(new_order_url(customers["10002"])).content.decode()
    select = re.search(r'<select name="order_type".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="(\w+)"', select) == ["SE", "SO"]
    assert '<option value="SE" selected>' in select
    assert "The order types set up for this tenant in Visma; the first is the default." in page
    refused = post_order(clerk_client, customers["10002"], order_type="QT").content.decode()
    assert "Choose one of the order types set up for this tenant: SE, SO." in refused
    post_order(clerk_client, customers["10002"], order_type="SO")
    assert SalesOrder.objects.get().order_type == "SO"


def test_an_order_keeps_a_type_the_tenant_no_longer_lists_when_edited(clerk_client, customers, tenant):
    order = delivered_order(tenant, customers["10002"], order_type="QT")
    page = clerk_client.get(reverse("orders:order-edit", args=[order.pk])).content.decode()
    assert '<option value="QT" selected>' in page
    data = form_data(customers["10002"], THREE_LINES[:1], order_type="QT")
    assert clerk_client.post(reverse("orders:order-edit", args=[order.pk]), data).status_code == 302
    order.refresh_from_db()
    assert order.order_type == "QT"


# --- delivery locations ----------------------------------------------------------------------------------------------
def test_a_location_of_the_customer_is_saved_and_an_unknown_one_is_refused_next_to_the_field(
    clerk_client, customers, sandbox
):
    refused = post_order(clerk_client, customers["10001"], location_id="WH2").content.decode()
    assert "“WH2” is not one of customer 10001&#x27;s delivery locations in Visma" in refused
    assert '<a href="#id_location_id" data-focus-field="id_location_id">Delivery location: ' in refused
    assert not SalesOrder.objects.exists()
    assert post_order(clerk_client, customers["10000"], location_id="WH2").status_code == 302
    assert SalesOrder.objects.get().location_id == "WH2"


def test_an_inactive_location_cannot_be_chosen(clerk_client, customers, sandbox):
    """Customer 10001 has an inactive "OLD" location in Visma, which Visma does not list."""
    locations, problem = delivery_locations(customers["10001"].tenant, customers["10001"])
    assert [location["id"] for location in locations] == ["MAIN"] and problem == ""
    page = post_order(clerk_client, customers["10001"], location_id="OLD").content.decode()
    assert "“OLD” is not one of customer 10001&#x27;s delivery locations" in page


def test_a_location_can_be_saved_while_visma_cannot_list_them(clerk_client, customers, sandbox):
    """Visma checks the location when the order is sent; a failing list does not keep staff from saving."""
    sandbox.state.set_faults([{"path": "/api/v3/Customers/10000/locations", "kind": "500"}])
    assert post_order(clerk_client, customers["10000"], location_id="WH2").status_code == 302


def test_locations_are_reduced_to_what_the_form_shows_and_cached(customers, sandbox):
    customer = customers["10000"]
    locations, problem = delivery_locations(customer.tenant, customer)
    assert problem == "" and [location["id"] for location in locations] == ["MAIN", "WH2", "SHOP"]
    shop = locations[2]
    dto = next(
        each for each in sandbox.state.locations(str(customer.tenant.tenant_id), "10000") if each["id"] == "SHOP"
    )
    assert shop == {
        "id": "SHOP",
        "name": "Shop",
        "lines": [dto["address"]["line1"]],
        "postal_code": dto["address"]["postalCode"],
        "city": dto["address"]["city"],
        "country": dto["countryId"],
        "contact": f"{dto['contact']['name']}, {dto['contact']['phone1']}, {dto['contact']['email']}",
        "label": f"SHOP — Shop — {dto['address']['line1']}, {dto['address']['postalCode']} "
        f"{dto['address']['city']}, {dto['countryId']}",
    }
    assert delivery_locations(customer.tenant, customer) == (locations, "")
    assert location_calls(sandbox, "10000") == 1


# --- the locations endpoint ----------------------------------------------------------------------------------------
def options_url(tenant, customer=None, **params) -> str:
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return (
        reverse("orders:location-options")
        + f"?tenant={tenant.pk}&customer={customer.pk if customer else ''}"
        + (f"&{query}" if query else "")
    )


def test_picking_a_customer_fills_the_location_picker_with_its_locations(clerk_client, customers, tenant, sandbox):
    page = clerk_client.get(options_url(tenant, customers["10000"])).content.decode()
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', page)
    assert [(value, text.split(" — ")[0]) for value, _, text in options] == [
        ("", "Customer's default location"),
        ("MAIN", "MAIN"),
        ("WH2", "WH2"),
        ("SHOP", "SHOP"),
    ]
    assert not any(selected for _, selected, _ in options)
    assert "3 locations of customer 10000 in Visma." in page
    assert f'name="location_customer" id="location-customer" value="{customers["10000"].pk}"' in page


def test_the_chosen_location_stays_chosen_for_its_customer_only(clerk_client, customers, tenant, sandbox):
    kept = clerk_client.get(
        options_url(tenant, customers["10000"], location_id="WH2", location_customer=customers["10000"].pk)
    ).content.decode()
    assert '<option value="WH2" selected>' in kept
    other = clerk_client.get(
        options_url(tenant, customers["10003"], location_id="WH2", location_customer=customers["10000"].pk)
    ).content.decode()
    assert "selected" not in other and '<option value="WH2">' in other
    gone = clerk_client.get(
        options_url(tenant, customers["10001"], location_id="OLD", location_customer=customers["10001"].pk)
    ).content.decode()
    assert '<option value="OLD" selected>OLD — not among the customer\'s locations in Visma</option>' in gone


def test_without_a_customer_the_picker_asks_for_one_and_calls_nobody(clerk_client, customers, tenant, sandbox):
    other = Tenant.objects.create(application=tenant.application, tenant_id=TENANT_READ_ONLY, name="Other")
    stranger = Customer.objects.create(tenant=other, number="10000", name="Elsewhere", status="Active")
    for customer in (None, customers["10008"], stranger):
        page = clerk_client.get(options_url(tenant, customer)).content.decode()
        assert "Pick a customer to choose one of its delivery locations." in page
        assert page.count("<option") == 1
    for value in ("x", "-1", "9" * 40):
        assert clerk_client.get(options_url(tenant) + value).status_code == 200
    assert not [entry for entry in sandbox.state.request_log() if "/locations" in entry["path"]]


@pytest.mark.parametrize("kind", ["500", "429"])
def test_a_visma_failure_is_explained_remembered_and_the_order_can_still_be_saved(
    clerk_client, customers, tenant, sandbox, kind
):
    sandbox.state.set_faults([{"path": "/api/v3/Customers/10000/locations", "kind": kind}])
    first = clerk_client.get(options_url(tenant, customers["10000"])).content.decode()
    assert "Delivery locations are unavailable:" in first
    assert "The order can still be saved: without a location Visma uses the customer's default." in first
    assert first.count("<option") == 1
    calls = location_calls(sandbox, "10000")
    for _ in range(3):
        assert clerk_client.get(options_url(tenant, customers["10000"])).content.decode() == first
    assert location_calls(sandbox, "10000") == calls
    assert post_order(clerk_client, customers["10000"]).status_code == 302


def test_a_tenant_without_the_read_scope_gets_no_locations_and_no_call(clerk_client, customers, tenant, sandbox):
    Tenant.objects.filter(pk=tenant.pk).update(can_read=False)
    page = clerk_client.get(options_url(tenant, customers["10000"])).content.decode()
    assert "Delivery locations need the read scope" in page
    assert location_calls(sandbox, "10000") == 0


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 302), ("viewer", 403), ("order_clerk", 200), ("integration_admin", 403), ("superuser", 200)],
)
def test_the_locations_endpoint_serves_those_who_build_orders(request, customers, tenant, sandbox, role, expected):
    from django.test import Client

    client = Client() if role == "anonymous" else logged_in(request.getfixturevalue(role))
    response = client.get(options_url(tenant, customers["10000"]))
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith(reverse("login"))
    assert client.post(options_url(tenant, customers["10000"])).status_code in (302, 405)
    assert location_calls(sandbox, "10000") == (1 if expected == 200 else 0)


def test_the_order_form_loads_the_picker_for_the_chosen_customer(clerk_client, customers, tenant):
    page = clerk_client.get(new_order_url(customers["10000"])).content.decode()
    picker = re.search(r'<div id="delivery-location"[^>]*>', page).group(0)
    assert f'hx-get="{reverse("orders:location-options")}?tenant={tenant.pk}"' in picker
    assert 'hx-trigger="load, change from:#id_customer"' in picker
    assert 'hx-include="#id_customer_value, #id_location_id, #location-customer"' in picker
    assert '<label class="form-label" for="id_location_id">Delivery location</label>' in page


# --- the payload ---------------------------------------------------------------------------------------------------
def test_the_payload_carries_location_date_address_contact_and_currency(customers, tenant):
    customer = customers["10000"]
    Customer.objects.filter(pk=customer.pk).update(currency="SEK")
    customer.refresh_from_db()
    order = delivered_order(
        tenant,
        customer,
        location_id="WH2",
        request_on=date(2026, 12, 3),
        **{**ADDRESS, "delivery_country": "NO"},
        **{**CONTACT, "delivery_contact_email": "kari@example.com;lager@example.com"},
    )
    body = payload.build(order)
    assert body["customer"] == {"id": "10000", "refNo": order.reference, "locationId": "WH2"}
    assert body["date"] == "2026-11-25T00:00:00" and body["requestOn"] == "2026-12-03T00:00:00"
    assert body["currencyId"] == "SEK"
    assert body["shipping"] == {
        "address": {
            "line1": "Kaigaten 4",
            "line2": "Port 2",
            "line3": None,
            "postalCode": "5003",
            "city": "Bergen",
            "countryId": "NO",
        },
        "contact": {
            "name": "Kari Nordmann",
            "attention": "Goods reception",
            "phone1": "+47 55 00 00 00",
            "email": "kari@example.com;lager@example.com",
        },
    }


def test_the_payload_leaves_out_what_was_not_given(customers, tenant):
    order = delivered_order(tenant, customers["10000"])
    body = payload.build(order)
    assert body["customer"] == {"id": "10000", "refNo": order.reference}
    assert not {"requestOn", "shipping", "currencyId"} & body.keys()


def test_a_contact_without_an_address_is_sent_alone_and_complete(customers, tenant):
    order = delivered_order(tenant, customers["10000"], delivery_contact_phone="+47 400 00 000")
    assert payload.build(order)["shipping"] == {
        "contact": {"name": None, "attention": None, "phone1": "+47 400 00 000", "email": None}
    }


# --- over HTTP to the sandbox --------------------------------------------------------------------------------------
def test_visma_takes_an_order_with_location_date_address_contact_and_currency(
    clerk_client, customers, sandbox, django_capture_on_commit_callbacks
):
    customer = customers["10000"]
    Customer.objects.filter(pk=customer.pk).update(currency="NOK")
    data = form_data(
        customer, THREE_LINES, action="submit", location_id="SHOP", request_on="2026-12-03", **ADDRESS, **CONTACT
    )
    with django_capture_on_commit_callbacks(execute=True):
        clerk_client.post(new_order_url(customer), data)
    order = SalesOrder.objects.get()
    assert order.state == State.SUBMITTED, order.last_error
    [stored] = sandbox.state.orders()
    assert stored["body"] == order.sent_payload
    sent = stored["body"]
    assert sent["customer"]["locationId"] == "SHOP" and sent["requestOn"] == "2026-12-03T00:00:00"
    assert sent["currencyId"] == "NOK"
    assert sent["shipping"]["address"]["countryId"] == "NO" and sent["shipping"]["contact"]["name"] == "Kari Nordmann"


@pytest.mark.parametrize(
    ("number", "location", "message"),
    [
        ("10001", "OLD", "Location &#x27;OLD&#x27; of customer &#x27;10001&#x27; is not active."),
        ("10002", "NOPE", "Location &#x27;NOPE&#x27; is not a location of customer &#x27;10002&#x27;."),
    ],
)
def test_a_location_visma_refuses_is_shown_next_to_the_field_on_the_failed_order(
    clerk_client, customers, tenant, sandbox, number, location, message
):
    """An order can carry a location Visma no longer takes (imported, or saved while Visma could not list them)."""
    from orders import services

    order = delivered_order(tenant, customers[number], location_id=location)
    assert services.queue(order, None)
    services.submit(order.pk)
    order.refresh_from_db()
    assert order.state == State.FAILED and order.last_error_status == 400
    detail = clerk_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert "Delivery location</strong> — " in detail and message in detail
    edit = clerk_client.get(reverse("orders:order-edit", args=[order.pk])).content.decode()
    delivery = re.search(r'<div class="card mb-3" id="delivery">.*?</details>', edit, re.S).group(0)
    assert f"Visma: {message}" in delivery and "(0004-ValueNotAllowed)" in delivery
    assert '<option value="' + location + '" selected>' in edit
    assert re.search(r'<select name="location_id" id="id_location_id"[^>]*aria-invalid="true"', edit)


def test_an_address_without_a_country_never_reaches_visma(clerk_client, customers, sandbox):
    data = form_data(customers["10002"], THREE_LINES[:1], action="submit", delivery_line1="Kaigaten 4")
    page = clerk_client.post(new_order_url(customers["10002"]), data).content.decode()
    assert "Visma needs it with a delivery address" in page
    assert not SalesOrder.objects.exists() and not sandbox.state.orders()


def test_visma_refuses_an_address_without_a_country_next_to_the_country(customers, tenant, sandbox, clerk_client):
    """The sandbox is as strict as Visma: an order that got past the portal without a country is refused there."""
    from orders import services

    order = delivered_order(tenant, customers["10002"], delivery_city="Bergen")
    assert services.queue(order, None)
    services.submit(order.pk)
    order.refresh_from_db()
    assert order.state == State.FAILED
    edit = clerk_client.get(reverse("orders:order-edit", args=[order.pk])).content.decode()
    assert "Visma: countryId is required when an address is given." in edit


# --- edit, copy, order page, audit ---------------------------------------------------------------------------------
def test_copy_and_edit_keep_the_delivery(clerk_client, customers, tenant, sandbox):
    order = delivered_order(
        tenant, customers["10000"], location_id="WH2", request_on=date(2026, 12, 24), **ADDRESS, **CONTACT
    )
    for url in (reverse("orders:order-edit", args=[order.pk]), reverse("orders:order-create") + f"?copy={order.pk}"):
        page = clerk_client.get(url).content.decode()
        assert '<option value="WH2" selected>WH2</option>' in page
        assert 'name="request_on" value="2026-12-24"' in page
        assert 'name="delivery_line1" value="Kaigaten 4"' in page and 'name="delivery_country" value="no"' in page
        assert 'name="delivery_contact_email" value="kari@example.com; lager@example.com"' in page
        assert re.search(r"<details[^>]*data-delivery-address open>", page)


def test_a_copy_leaves_the_location_out_when_the_customer_must_be_chosen_again(clerk_client, customers, tenant):
    order = delivered_order(tenant, customers["10008"], location_id="MAIN")
    page = clerk_client.get(reverse("orders:order-create") + f"?copy={order.pk}").content.decode()
    assert '<option value="MAIN" selected>' not in page


def test_the_order_page_shows_the_delivery(clerk_client, customers, tenant):
    customer = customers["10000"]
    Customer.objects.filter(pk=customer.pk).update(currency="SEK")
    order = delivered_order(
        tenant, customer, location_id="WH2", request_on=date(2026, 12, 24), **{**ADDRESS, "delivery_country": "NO"}
    )
    page = clerk_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    block = re.search(r'<div class="card mb-3" id="order-delivery".*?</dl>', page, re.S).group(0)
    assert '<span class="mono">WH2</span>' in block and "24/12/2026" in block
    assert "Kaigaten 4<br>Port 2<br>5003 Bergen<br>NO" in block and "The location's contact" in block
    assert '<span class="mono">SEK</span>, the customer\'s: the order is sent in it' in block
    plain = delivered_order(tenant, customers["10001"])
    page = clerk_client.get(reverse("orders:order-detail", args=[plain.pk])).content.decode()
    assert "The customer's default location" in page and "Not given (Visma uses the order date)" in page


def test_the_audit_trail_shows_delivery_changes(clerk_client, customers, tenant):
    post_order(clerk_client, customers["10002"], **ADDRESS)
    order = SalesOrder.objects.get()
    data = form_data(customers["10002"], THREE_LINES[:1], **{**ADDRESS, "delivery_city": "Oslo"})
    data["lines-0-id"] = order.lines.get().pk
    data["lines-INITIAL_FORMS"] = 1
    clerk_client.post(reverse("orders:order-edit", args=[order.pk]), data)
    page = clerk_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    trail = page[page.index("audit") :]
    assert "Delivery city" in trail and "Bergen" in trail and "Oslo" in trail


# --- the customer's currency on the form ---------------------------------------------------------------------------
def test_the_form_shows_the_currency_the_order_is_sent_in(clerk_client, customers, tenant):
    Customer.objects.filter(pk=customers["10000"].pk).update(currency="SEK")
    page = clerk_client.get(new_order_url(customers["10000"])).content.decode()
    line = re.search(r'<p class="mb-1" id="order-currency".*?</p>', page, re.S).group(0)
    assert '<strong class="mono" data-currency-code>SEK</strong>' in line
    assert re.search(r'<span data-currency-when="customer">, the customer', line)
    assert re.search(r'<span data-currency-when="missing" hidden>', line)
    assert 'data-currency="SEK"' in page
    unpicked = clerk_client.get(reverse("orders:order-create") + f"?tenant={tenant.pk}").content.decode()
    assert re.search(r'<span data-currency-when="unpicked">', unpicked)
    options = clerk_client.get(reverse("orders:customer-options"), {"tenant": tenant.pk, "q": "Kunde 0"})
    assert 'data-currency="SEK"' in options.content.decode()
