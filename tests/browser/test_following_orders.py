"""Following orders in a real browser: Visma puts an order on hold and ships it (in the sandbox), the refresh reads
it, and the orders list and the order page show it without a reload; Refresh now swaps the In Visma panel."""

from __future__ import annotations

import pytest

from core.roles import ORDER_CLERK
from orders import listing, refresh
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD, make_user
from tests.orders.following import change_in_visma, followed_orders

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clerk_page(page, django_user_model, tenant, monkeypatch):
    monkeypatch.setattr(listing, "VISMA_POLL_SECONDS", 1)
    make_user(django_user_model, "freya-follows", ORDER_CLERK)
    log_in(page, "freya-follows", PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()
    return page


def test_visma_s_status_changes_show_on_the_list_and_the_order_page_without_a_reload(clerk_page, sandbox, tenant):
    page = clerk_page
    order = followed_orders(sandbox, tenant, 1)[0]
    page.goto("/orders/")
    cell = page.locator(f"#order-visma-status-{order.pk}")
    assert cell.inner_text() == "not read yet" and page.locator("#visma-poller").get_attribute("data-polling") == "on"
    page.evaluate("window.__notReloaded = true")

    refresh.refresh_tenant(tenant)  # the schedule's next run
    cell.get_by_text("Open").wait_for(timeout=10_000)
    change_in_visma(sandbox, order, status="Hold")
    refresh.refresh_tenant(tenant)
    cell.get_by_text("On hold").wait_for(timeout=10_000)
    change_in_visma(sandbox, order, status="Open")
    change_in_visma(sandbox, order, status="Shipping")
    refresh.refresh_tenant(tenant)
    cell.get_by_text("Shipping").wait_for(timeout=10_000)
    assert page.evaluate("window.__notReloaded === true")

    page.goto(f"/orders/{order.pk}/")
    panel = page.locator("#visma-panel")
    assert "Shipping" in panel.locator("[data-visma-panel-status]").inner_text()
    page.evaluate("window.__notReloaded = true")
    change_in_visma(sandbox, order, status="Completed")
    panel.get_by_role("button", name="Refresh now").click()
    page.locator("#visma-panel [data-visma-panel-status]", has_text="Completed").wait_for(timeout=10_000)
    assert "just now" in page.locator("#visma-panel [data-visma-read]").inner_text()
    assert page.evaluate("window.__notReloaded === true") and page.console_errors == []
