"""The dashboard's order counts refresh by themselves while an order is queued or submitting, and stop after."""

from __future__ import annotations

import pytest

from orders.models import SalesOrder
from tests.ordering import make_order

pytestmark = pytest.mark.django_db
State = SalesOrder.State


def test_counts_are_polled_while_orders_move_and_not_after(viewer_client, tenant):
    order = make_order(tenant)
    assert 'data-polling="off"' in viewer_client.get("/").content.decode()

    SalesOrder.objects.filter(pk=order.pk).update(state=State.QUEUED)
    page = viewer_client.get("/").content.decode()
    assert 'hx-get="/orders/dashboard-states/" hx-trigger="every 3s"' in page
    assert f'<div id="tenant-orders-{tenant.pk}" data-moving="yes">' in page

    live = viewer_client.get("/orders/dashboard-states/").content.decode()
    assert f'<div id="tenant-orders-{tenant.pk}" hx-swap-oob="true" data-moving="yes">' in live
    assert 'data-count="queued">1 queued' in live and 'data-polling="on"' in live

    SalesOrder.objects.filter(pk=order.pk).update(state=State.SUBMITTED)
    settled = viewer_client.get("/orders/dashboard-states/").content.decode()
    assert 'data-count="submitted">1 submitted' in settled and 'data-polling="off"' in settled
    assert "hx-trigger" not in settled


def test_the_live_counts_need_both_permissions(client, django_user_model, tenant, django_assert_max_num_queries):
    client.force_login(django_user_model.objects.create_user("nobody", password="pw-123456789"))
    assert client.get("/orders/dashboard-states/").status_code == 403
