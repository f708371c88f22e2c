"""The message after Submit says what is true when the page shows: tasks may already have finished (sync tasks here)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from orders.models import SalesOrder
from tests.ordering import make_order

pytestmark = pytest.mark.django_db(transaction=True)  # the task runs when the queueing commits


def submit(client, order) -> tuple[SalesOrder, list[str]]:
    response = client.post(reverse("orders:order-submit", args=[order.pk]))
    order.refresh_from_db()
    return order, [str(m) for m in get_messages(response.wsgi_request)]


def test_an_order_visma_already_took_is_not_called_queued(clerk_client, tenant):
    order, said = submit(clerk_client, make_order(tenant))
    assert order.state == SalesOrder.State.SUBMITTED
    assert said == [f"Order {order.reference} was sent to Visma as {order.visma_label}."]


def test_an_order_visma_refused_says_so(clerk_client, tenant):
    order, said = submit(clerk_client, make_order(tenant, number="99999"))
    assert order.state == SalesOrder.State.FAILED
    assert said == [f"Order {order.reference} was not accepted by Visma; see why below."]


def test_the_bulk_report_says_what_visma_did_with_each_order(clerk_client, tenant):
    taken, refused = make_order(tenant), make_order(tenant, number="99999")
    clerk_client.post(
        reverse("orders:order-bulk"), {"action": "submit", "orders": [taken.pk, refused.pk], "confirmed": "yes"}
    )
    page = clerk_client.get(reverse("orders:order-list")).content.decode()
    taken.refresh_from_db()
    assert f"Sent to Visma as {taken.visma_label}." in page
    assert "Queued, but Visma did not accept it; the order shows why." in page
