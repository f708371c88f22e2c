"""On a phone (390 px wide) the notes about Visma trouble wrap inside the page: no sideways scrolling, and the words
that say what happens next are on screen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders import services
from orders.models import SalesOrder
from tenants.models import Tenant
from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD
from tests.ordering import make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


def test_a_lost_answer_and_an_unreachable_visma_read_well_on_a_phone(page, sandbox, tenant, order_clerk, settings):
    settings.ORDER_RESEND_AFTER_SECONDS = 600
    # Visma drops the connection after the order was sent: the answer is lost, the look-up finds nothing, and the
    # order waits to be looked up again rather than being sent again.
    sandbox.state.set_faults([{"method": "POST", "path": "/api/v3/SalesOrders", "kind": "reset", "times": 1}])
    order = make_order(tenant)
    assert services.queue(order)
    services.submit(order.pk)
    order.refresh_from_db()
    assert order.state == SalesOrder.State.SUBMITTING and sandbox.state.orders() == []

    page.set_viewport_size(PHONE)
    log_in(page, order_clerk.username, PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()
    page.goto(f"/orders/{order.pk}/")
    card = page.locator("#order-state")
    card.get_by_text("Visma's answer to an earlier attempt was lost").wait_for()
    note = card.locator("[data-looking-up]")
    assert note.is_visible()
    assert "It is not in Visma yet." in note.inner_text()
    assert "does not send it again before" in note.inner_text()
    timeline = page.locator("#attempt-timeline")
    assert timeline.get_by_text("answer lost").is_visible() and timeline.get_by_text("not found").is_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the order page scrolls sideways at 390 px"
    screenshot(page, "phone-order-looked-up")

    since = timezone.now() - timedelta(minutes=7)
    Tenant.objects.filter(pk=tenant.pk).update(
        unreachable_since=since, unreachable_probe_at=timezone.now() + timedelta(seconds=60)
    )
    page.goto("/")
    unreachable = page.locator("[data-unreachable]")
    unreachable.get_by_text("Visma unreachable since").wait_for()
    assert "orders wait in the queue" in unreachable.inner_text()
    box = unreachable.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box  # on screen without scrolling the table
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the dashboard scrolls sideways at 390 px"
    screenshot(page, "phone-dashboard-unreachable")
    assert page.console_errors == [], page.console_errors
