"""The issue's journey after submission, in a real browser: a clerk submits an order, Visma puts it on hold and ships
it (the sandbox, which tells the portal through its webhook), the orders list shows each status without a reload,
then the clerk adds a line to another, open order and sees it in Visma."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from core.roles import ORDER_CLERK
from orders import listing
from orders.models import SalesOrder, SalesOrderLine
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_journeys import mark_page, synced_customer, was_not_reloaded
from tests.conftest import PASSWORD, make_user
from tests.orders.following import change_in_visma

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
State = SalesOrder.State


@pytest.fixture
def webhooks_to_portal(sandbox, live_server, application, settings):
    """The sandbox notifies the portal's webhook URL of every order change, as Visma would once subscribed; each
    notification starts the tenant's refresh at once (no debounce, so the test need not wait for a scheduler)."""
    settings.VISMA_WEBHOOK_DEBOUNCE_SECONDS = 0
    url = f"{live_server.url}/webhooks/visma/{application.webhook_token}/"
    requests.post(f"{sandbox.base_url}/_sandbox/webhooks", json={"url": url}, timeout=10).raise_for_status()
    yield url
    requests.post(f"{sandbox.base_url}/_sandbox/webhooks", json={"url": None}, timeout=10)


def draft(tenant, customer, reference_text: str, *items: tuple[str, str, str]) -> SalesOrder:
    order = SalesOrder.objects.create(tenant=tenant, customer=customer, customer_order=reference_text)
    for position, (item, quantity, price) in enumerate(items, start=1):
        SalesOrderLine.objects.create(
            order=order, position=position, inventory_id=item, quantity=Decimal(quantity), unit_price=Decimal(price)
        )
    return order


def submit_in_browser(page, order: SalesOrder) -> SalesOrder:
    page.goto(f"/orders/{order.pk}/")
    with page.expect_navigation():
        page.get_by_role("button", name="Submit to Visma").click()
    page.locator("[data-visma-number]").wait_for()
    order.refresh_from_db()
    assert order.state == State.SUBMITTED
    return order


def delivered(sandbox) -> list[dict]:
    return requests.get(f"{sandbox.base_url}/_sandbox/webhooks", timeout=10).json()["deliveries"]


def test_submit_watch_visma_hold_and_ship_it_then_add_a_line_to_an_open_order(
    page, django_user_model, sandbox, tenant, webhooks_to_portal, monkeypatch
):
    monkeypatch.setattr(listing, "VISMA_POLL_SECONDS", 1)
    make_user(django_user_model, "tor-follows", ORDER_CLERK)
    customer = synced_customer(sandbox, tenant)
    shipped = draft(tenant, customer, "PO-SHIP-ME", ("STOCK-100", "2", "10.50"))
    kept_open = draft(tenant, customer, "PO-ADD-TO-ME", ("STOCK-300", "1", "100"))
    log_in(page, "tor-follows", PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()

    # Submit both; Visma's webhook for each creation makes the portal read Visma's status at once.
    shipped, kept_open = submit_in_browser(page, shipped), submit_in_browser(page, kept_open)
    page.goto("/orders/")
    cell = page.locator(f"#order-visma-status-{shipped.pk}")
    cell.get_by_text("Open").wait_for(timeout=15_000)
    mark_page(page)

    # Visma puts it on hold, then ships it: the list follows without a reload.
    change_in_visma(sandbox, shipped, status="Hold")
    cell.get_by_text("On hold").wait_for(timeout=15_000)
    screenshot(page, "after-submission-01-on-hold-in-visma")
    change_in_visma(sandbox, shipped, status="Open")
    change_in_visma(sandbox, shipped, status="Shipping")
    cell.get_by_text("Shipping").wait_for(timeout=15_000)
    assert was_not_reloaded(page)
    assert all(delivery["status"] == 202 for delivery in delivered(sandbox)), delivered(sandbox)
    screenshot(page, "after-submission-02-shipping-in-visma")

    # A shipping order takes no more changes; the open one takes a line.
    page.goto(f"/orders/{shipped.pk}/")
    page.locator("[data-change-closed]").wait_for()
    assert page.locator("[data-change-form='add_lines']").count() == 0
    page.goto(f"/orders/{kept_open.pk}/")
    page.locator("[data-change-form='add_lines'] summary").click()
    form = page.locator("[data-change-form='add_lines'] form")
    form.locator("tr[data-line]").first.locator("input[name$='inventory_id']").fill("STOCK-400")
    form.locator("tr[data-line]").first.locator("input[name$='quantity']").fill("3")
    form.locator("tr[data-line]").first.locator("input[name$='unit_price']").fill("12")
    with page.expect_navigation():
        form.get_by_role("button", name="Add the lines in Visma").click()
    page.locator("[data-order-change='applied']").first.wait_for(timeout=15_000)
    screenshot(page, "after-submission-03-line-added-in-visma")

    # Visma has it, once; the In Visma panel shows Visma's lines against what was sent.
    [in_visma] = [o for o in sandbox.state.orders(str(tenant.tenant_id)) if o["orderId"] == kept_open.visma_number]
    items = [(line["inventoryId"], line["quantity"]) for line in in_visma["lines"]]
    assert items.count(("STOCK-400", 3)) == 1 and ("STOCK-300", 1) in items, items
    page.locator("#visma-panel").get_by_role("button", name="Refresh now").click()
    page.locator("#visma-line-differences [data-difference='added']", has_text="STOCK-400").wait_for(timeout=15_000)
    assert page.console_errors == [], page.console_errors
