"""Delivering where the customer wants, in a real browser: picking a customer brings its delivery locations from
Visma (the sandbox), one is picked, an address for this order is typed in, and Visma gets them all."""

from __future__ import annotations

import pytest

from orders.models import SalesOrder
from tenants.models import Customer
from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clerk_picks_a_delivery_location_and_an_address_and_visma_gets_them(page, order_clerk, tenant, sandbox):
    Customer.objects.bulk_create(
        [
            Customer(tenant=tenant, number="10000", name="Kunde 0", status="Active", currency="SEK"),
            Customer(tenant=tenant, number="10001", name="Kunde 1", status="Active"),
        ]
    )
    log_in(page, order_clerk.username, PASSWORD)
    page.goto(f"/orders/new/?tenant={tenant.pk}")
    location = page.get_by_label("Delivery location")
    assert location.locator("option").all_inner_texts() == ["Customer's default location"]
    assert (
        page.locator("[data-location-hint]").inner_text() == "Pick a customer to choose one of its delivery locations."
    )

    page.get_by_role("combobox", name="Customer").fill("Kunde 1")
    page.get_by_role("option", name="10001 Kunde 1").click()
    page.locator("#id_location_id option[value='MAIN']").wait_for(state="attached")
    assert page.locator("[data-location-hint]").inner_text() == "1 location of customer 10001 in Visma."

    page.get_by_role("combobox", name="Customer").fill("Kunde 0")
    page.get_by_role("option", name="10000 Kunde 0").click()
    page.locator("#id_location_id option[value='SHOP']").wait_for(state="attached")
    texts = page.get_by_label("Delivery location").locator("option").all_inner_texts()
    assert [text.split(" — ")[0] for text in texts] == ["Customer's default location", "MAIN", "WH2", "SHOP"]
    page.get_by_label("Delivery location").select_option("WH2")
    assert page.locator("[data-currency-code]").inner_text() == "SEK"
    assert page.locator('[data-currency-when="customer"]').is_visible()

    page.get_by_label("Requested delivery date").fill("2026-12-24")
    assert not page.get_by_label("Address line 1").is_visible()
    page.get_by_text("Deliver to another address").click()
    page.get_by_label("Address line 1").fill("Kaigaten 4")
    page.get_by_label("Postal code").fill("5003")
    page.get_by_label("City").fill("Bergen")
    page.get_by_label("Country").fill("no")
    page.get_by_label("Contact name").fill("Kari Nordmann")
    page.get_by_label("Contact e-mail").fill("kari@example.com")
    page.locator("#id_lines-0-inventory_id").fill("STOCK-100")
    page.locator("#id_lines-0-quantity").fill("2")
    screenshot(page, "order-delivery")

    with page.expect_navigation():
        page.get_by_role("button", name="Save and submit").click()
    page.locator("[data-visma-number]").wait_for()
    order = SalesOrder.objects.get()
    assert order.state == SalesOrder.State.SUBMITTED, order.last_error
    [received] = sandbox.state.orders()
    body = received["body"]
    assert body["customer"]["locationId"] == "WH2" and body["requestOn"] == "2026-12-24T00:00:00"
    assert body["currencyId"] == "SEK"
    assert body["shipping"]["address"] == {
        "line1": "Kaigaten 4",
        "line2": None,
        "line3": None,
        "postalCode": "5003",
        "city": "Bergen",
        "countryId": "NO",
    }
    assert body["shipping"]["contact"]["name"] == "Kari Nordmann"
    assert "Kaigaten 4" in page.locator("[data-order-delivery]").inner_text()
    assert page.console_errors == [], page.console_errors


def test_the_order_can_be_saved_while_visma_cannot_list_the_locations(page, order_clerk, tenant, sandbox):
    Customer.objects.create(tenant=tenant, number="10000", name="Kunde 0", status="Active")
    sandbox.state.set_faults([{"path": "/api/v3/Customers/10000/locations", "kind": "500"}])
    log_in(page, order_clerk.username, PASSWORD)
    page.goto(f"/orders/new/?tenant={tenant.pk}")
    page.get_by_role("combobox", name="Customer").fill("Kunde 0")
    page.get_by_role("option", name="10000 Kunde 0").click()
    hint = page.locator("[data-location-hint]")
    hint.filter(has_text="Delivery locations are unavailable").wait_for()
    assert "The order can still be saved" in hint.inner_text()
    page.locator("#id_lines-0-inventory_id").fill("STOCK-100")
    page.locator("#id_lines-0-quantity").fill("1")
    with page.expect_navigation():
        page.get_by_role("button", name="Save as draft").click()
    assert SalesOrder.objects.get().location_id == ""
