"""The order form in a real browser: add and remove lines without a reload, live totals, submit, live state."""

from __future__ import annotations

import pytest

from orders.models import SalesOrder
from tenants.models import Customer
from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_line(page, index: int, item: str, quantity: str, price: str = "") -> None:
    page.locator(f"#id_lines-{index}-inventory_id").fill(item)
    page.locator(f"#id_lines-{index}-quantity").fill(quantity)
    page.locator(f"#id_lines-{index}-unit_price").fill(price)


def test_clerk_builds_an_order_adds_and_removes_lines_and_watches_it_reach_visma(
    page, order_clerk, tenant, sandbox, live_server
):
    customers = [Customer(tenant=tenant, number=str(10000 + i), name=f"Kunde {i}", status="Active") for i in range(3)]
    Customer.objects.bulk_create(customers)
    log_in(page, order_clerk.username, PASSWORD)
    page.get_by_role("link", name="Orders").click()
    page.get_by_role("link", name="New order").click()
    page.get_by_role("link", name=tenant.name).click()

    page.get_by_role("combobox", name="Customer").fill("Kunde 2")
    page.get_by_role("option", name="10002 Kunde 2").click()
    page.get_by_label("Customer's order number").fill("PO-BROWSER-1")
    page.locator("#inventory-items option[value='STOCK-100']").wait_for(state="attached")

    fill_line(page, 0, "STOCK-100", "2", "10,50")
    for index in (1, 2, 3):
        page.get_by_role("button", name="Add line").click()
        page.locator(f"#id_lines-{index}-inventory_id").wait_for()
    fill_line(page, 1, "BOGUS", "1", "1")
    fill_line(page, 2, "FREIGHT", "1", "99")
    fill_line(page, 3, "SERV-100", "3")
    assert page.locator("[data-order-total]").inner_text() == "NOK\xa0121.00"
    page.locator("tr[data-line]").nth(1).get_by_role("button", name="Remove").click()
    assert page.locator("tr[data-line]:visible").count() == 3
    assert page.locator("[data-order-total]").inner_text() == "NOK\xa0120.00"
    screenshot(page, "order-form")

    with page.expect_navigation():
        page.get_by_role("button", name="Save and submit").click()
    page.locator("[data-visma-number]").wait_for()
    order = SalesOrder.objects.get()
    assert order.state == SalesOrder.State.SUBMITTED
    assert page.locator("[data-visma-number]").inner_text() == order.visma_label
    [received] = sandbox.state.orders()
    assert [line["inventoryId"] for line in received["body"]["orderLines"]] == ["STOCK-100", "FREIGHT", "SERV-100"]
    screenshot(page, "order-submitted")
    assert page.console_errors == [], page.console_errors
