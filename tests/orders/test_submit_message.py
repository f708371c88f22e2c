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
