"""A Norwegian user in a real browser: amounts like 1 777,50 kr and dates like 30.11.2026, server- and browser-side."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from core.models import Profile
from core.roles import ORDER_CLERK
from orders.models import SalesOrder, SalesOrderLine
from tenants.models import Customer
from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def text(locator) -> str:
    return locator.inner_text().replace("\xa0", " ").replace("\u202f", " ")


def test_a_norwegian_clerk_sees_norwegian_amounts_and_dates_on_the_order_page_and_live_totals(
    page, django_user_model, tenant, live_server
):
    clerk = make_user(django_user_model, "kari-clerk", ORDER_CLERK)
    Profile.objects.create(user=clerk, language="nb", time_zone="Europe/Oslo")
    customer = Customer.objects.create(tenant=tenant, number="10000", name="Kunde", status="Active", currency="NOK")
    order = SalesOrder.objects.create(tenant=tenant, customer=customer, date=date(2026, 11, 30))
    SalesOrderLine.objects.create(
        order=order, position=1, inventory_id="STOCK-300", quantity=Decimal("2.5"), unit_price=Decimal("449")
    )
    SalesOrderLine.objects.create(
        order=order, position=2, inventory_id="FREIGHT", quantity=Decimal("1"), unit_price=Decimal("655")
    )
    SalesOrder.objects.filter(pk=order.pk).update(created_at=datetime(2026, 11, 30, 0, 0, tzinfo=UTC))

    log_in(page, clerk.username, PASSWORD)
    page.goto(f"/orders/{order.pk}/")
    lines = page.locator("#order-lines-table")
    assert text(lines.locator("[data-order-total]")) == "1 777,50 kr"
    assert "449,00 kr" in text(lines) and "1 122,50 kr" in text(lines) and "2,5" in text(lines)
    assert "30.11.2026" in text(page.locator("main")) and "30.11.2026 01:00" in text(page.locator("main"))
    screenshot(page, "order-norwegian")

    page.goto(f"/orders/{order.pk}/edit/")
    total = page.locator("[data-order-total]")
    assert text(total) == "1 777,50 kr"  # computed in the browser from the lines as they stand
    assert page.locator("#id_lines-0-quantity").input_value() == "2,5"
    page.locator("#id_lines-1-unit_price").fill("1655,5")
    assert text(total) == "2 778,00 kr"
    assert text(page.locator("tr[data-line]").nth(1).locator("[data-line-amount]")) == "1 655,50 kr"
    screenshot(page, "order-form-norwegian")
    assert page.console_errors == [], page.console_errors


def test_an_english_clerk_sees_the_customer_s_currency_in_live_totals(page, django_user_model, tenant, live_server):
    clerk = make_user(django_user_model, "eric-clerk", ORDER_CLERK)
    customer = Customer.objects.create(tenant=tenant, number="10001", name="Kund", status="Active", currency="SEK")
    order = SalesOrder.objects.create(tenant=tenant, customer=customer, date=date(2026, 11, 30))
    SalesOrderLine.objects.create(
        order=order, position=1, inventory_id="FREIGHT", quantity=Decimal("1"), unit_price=Decimal("1777.5")
    )
    log_in(page, clerk.username, PASSWORD)
    page.goto(f"/orders/{order.pk}/edit/")
    assert text(page.locator("[data-order-total]")) == "SEK 1,777.50"
    page.goto(f"/orders/{order.pk}/")
    assert text(page.locator("[data-order-total]")) == "SEK 1,777.50"
    assert "30/11/2026" in text(page.locator("main"))


def test_picking_a_customer_switches_the_live_totals_to_its_currency(page, django_user_model, tenant, live_server):
    clerk = make_user(django_user_model, "kristin-clerk", ORDER_CLERK)
    Profile.objects.create(user=clerk, language="nb")
    Customer.objects.create(tenant=tenant, number="10000", name="Kunde Norge", status="Active", currency="")
    Customer.objects.create(tenant=tenant, number="10001", name="Kund Sverige", status="Active", currency="SEK")
    log_in(page, clerk.username, PASSWORD)
    page.goto(f"/orders/new/?tenant={tenant.pk}")
    page.locator("#id_lines-0-quantity").fill("2,5")
    page.locator("#id_lines-0-unit_price").fill("711")
    total = page.locator("[data-order-total]")
    assert text(total) == "1 777,50 kr"  # the tenant's default before a customer is picked
    page.get_by_role("combobox", name="Customer").fill("Sverige")
    page.get_by_role("option", name="10001 Kund Sverige").click()
    page.wait_for_function("document.querySelector('[data-order-total]').textContent.includes('SEK')")
    assert text(total) == "1 777,50 SEK"
    page.get_by_role("combobox", name="Customer").fill("Norge")
    page.get_by_role("option", name="10000 Kunde Norge").click()  # Visma gave no currency: the tenant's
    page.wait_for_function("document.querySelector('[data-order-total]').textContent.includes('kr')")
    assert text(total) == "1 777,50 kr"
    assert page.console_errors == [], page.console_errors
