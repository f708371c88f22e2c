"""The lists in a real browser: sorting by clicking headers (aria-sort), bulk confirmation and its per-order report,
states that refresh without a reload, and no sideways overflow at 1280 px with Visma's longest errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.roles import ORDER_CLERK
from orders.models import SalesOrder, SalesOrderLine
from tenants.models import Customer
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
State = SalesOrder.State


def order(tenant, customer, price: str, state=State.DRAFT, **fields) -> SalesOrder:
    made = SalesOrder.objects.create(tenant=tenant, customer=customer, state=state, **fields)
    SalesOrderLine.objects.create(
        order=made, position=1, inventory_id="STOCK-100", quantity=Decimal(1), unit_price=Decimal(price)
    )
    return made


@pytest.fixture
def clerk_page(page, django_user_model, tenant):
    make_user(django_user_model, "lina-lists", ORDER_CLERK)
    log_in(page, "lina-lists", PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()
    page.customer = Customer.objects.create(tenant=tenant, number="10001", name="Nordlys Kunde AS", status="Active")
    return page


def references_shown(page) -> list[str]:
    return page.locator("table.order-list tbody tr td:nth-child(2)").all_inner_texts()


def test_clicking_a_header_sorts_and_says_so_with_aria_sort(clerk_page, tenant):
    page = clerk_page
    made = {price: order(tenant, page.customer, price) for price in ("50", "5", "500")}
    page.goto("/orders/")
    total = page.locator("th", has=page.locator('a[data-sort="total"]'))
    assert total.get_attribute("aria-sort") is None
    assert page.locator("th[aria-sort]").get_attribute("aria-sort") == "descending"  # the date, newest first

    total.get_by_role("link").click()
    page.wait_for_url("**sort=total**")
    assert total.get_attribute("aria-sort") == "ascending" and "▲" in total.inner_text()
    assert references_shown(page) == [made[p].reference for p in ("5", "50", "500")]
    assert page.locator("th[aria-sort]").count() == 1

    total.get_by_role("link").click()
    page.wait_for_url("**sort=-total**")
    assert total.get_attribute("aria-sort") == "descending" and "▼" in total.inner_text()
    assert references_shown(page) == [made[p].reference for p in ("500", "50", "5")]


def test_bulk_actions_ask_first_and_report_each_order(clerk_page, tenant):
    page = clerk_page
    queued = order(tenant, page.customer, "10", state=State.QUEUED)
    submitted = order(tenant, page.customer, "20", state=State.SUBMITTED, visma_type="SO", visma_number="000042")
    page.goto("/orders/")
    page.get_by_label(f"Select {queued.reference}").check()
    page.get_by_label(f"Select {submitted.reference}").check()
    page.get_by_label("With selected").select_option("cancel")
    page.get_by_role("button", name="Apply…").click()

    page.get_by_role("heading", name="Cancel 1 of 2 selected orders?").wait_for()
    assert "It is submitted; only queued orders are cancelled here." in page.locator("#bulk-confirm").inner_text()
    assert SalesOrder.objects.get(pk=queued.pk).state == State.QUEUED  # nothing done before the answer
    page.get_by_role("button", name="Yes, cancel 1 order").click()

    report = page.locator("#bulk-report")
    report.wait_for()
    assert "alert-warning" in report.get_attribute("class")
    assert "1 order cancelled, 1 skipped." in report.inner_text()
    skipped = report.locator('li[data-outcome="skipped"]')
    assert submitted.reference in skipped.inner_text() and "text-bg-warning" in skipped.locator(".badge").get_attribute(
        "class"
    )
    assert SalesOrder.objects.get(pk=queued.pk).state == State.CANCELLED


def test_states_refresh_on_the_list_without_a_reload(clerk_page, tenant):
    page = clerk_page
    queued = order(tenant, page.customer, "10", state=State.QUEUED)
    page.goto("/orders/")
    cell = page.locator(f"#order-state-{queued.pk}")
    assert cell.get_attribute("data-state") == "queued"
    assert page.locator("#order-poller").get_attribute("data-polling") == "on"
    page.evaluate("window.__notReloaded = true")

    SalesOrder.objects.filter(pk=queued.pk).update(state=State.SUBMITTED, visma_type="SO", visma_number="000077")
    page.locator(f'#order-state-{queued.pk}[data-state="submitted"]').wait_for(timeout=10_000)
    assert page.locator(f"#order-visma-{queued.pk}").inner_text() == "SO 000077"
    assert page.locator("#order-poller").get_attribute("data-polling") == "off"  # nothing moves: polling stops
    assert page.evaluate("window.__notReloaded === true")


def test_the_orders_list_never_overflows_at_1280px(clerk_page, tenant):
    page = clerk_page
    long_text = "Line 1, Item — InventoryId cannot be found or is invalid: " + "X" * 300 + " and more" * 40
    order(tenant, page.customer, "10", state=State.FAILED, last_error=long_text, customer_order="PO-" + "9" * 37)
    order(tenant, page.customer, "10", state=State.SUBMITTED, visma_type="SO", visma_number="000000000000042")
    page.goto("/orders/")
    widths = page.evaluate(
        """() => { const t = document.querySelector('table.order-list');
                   return [t.scrollWidth, t.parentElement.clientWidth, document.documentElement.scrollWidth,
                           document.documentElement.clientWidth]; }"""
    )
    assert widths[0] <= widths[1] and widths[2] <= widths[3], widths
    error = page.locator(".list-error")
    assert error.get_attribute("title") == long_text and len(error.inner_text()) <= 90
    assert page.locator("th", has=page.locator('a[data-sort="visma"]')).is_visible()
