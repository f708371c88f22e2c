"""submit_orders and reconcile_orders, and the admin's bulk actions, against the sandbox."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from orders.models import SalesOrder, SalesOrderLine
from tenants.models import Customer

pytestmark = pytest.mark.django_db
State = SalesOrder.State


@pytest.fixture
def queued(tenant):
    customer = Customer.objects.create(tenant=tenant, number="10000", name="Kunde", status="Active")

    def make(item="STOCK-100", due=True):
        order = SalesOrder.objects.create(
            tenant=tenant,
            customer=customer,
            state=State.QUEUED,
            next_attempt_at=timezone.now() - timedelta(seconds=1) if due else timezone.now() + timedelta(hours=1),
        )
        SalesOrderLine.objects.create(order=order, position=1, inventory_id=item, quantity=Decimal(1))
        return order

    return make


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_submit_orders_wait_prints_each_outcome_and_fails_when_one_failed(queued, sandbox, tenant):
    good, bad, later = queued(), queued(item="NOPE"), queued(due=False)
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 orders failed"):
        call_command("submit_orders", "--wait", "--tenant", str(tenant.tenant_id), stdout=out)
    text = out.getvalue()
    assert f"{good.reference}: submitted as Visma order SO 000001" in text
    assert f"{bad.reference}: failed: Visma rejected the request" in text
    later.refresh_from_db()
    assert later.state == State.QUEUED and later.reference not in text
    assert len(sandbox.state.orders()) == 1


def test_submit_orders_without_wait_hands_them_to_the_workers(queued, sandbox):
    order = queued()
    assert "1 order handed to the workers." in run("submit_orders")  # test settings run the task at once
    order.refresh_from_db()
    assert order.state == State.SUBMITTED
    assert "No queued orders are due." in run("submit_orders")


def test_submit_orders_refuses_an_unknown_tenant():
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(CommandError, match="No tenant with tenant ID"):
            call_command("submit_orders", "--tenant", bad)


def test_reconcile_orders_finds_an_order_a_dead_worker_left_in_submitting(queued, sandbox):
    order = queued()
    sandbox.state.set_faults(
        [{"method": "POST", "path": "/api/v3/SalesOrders", "kind": "accept_then_drop", "times": 1}]
    )
    run("submit_orders", "--wait")  # the answer is lost, the lookup finds it
    order.refresh_from_db()
    assert order.state == State.SUBMITTED
    stuck = queued()
    SalesOrder.objects.filter(pk=stuck.pk).update(
        state=State.SUBMITTING, attempts=1, attempt_started_at=timezone.now() - timedelta(hours=1)
    )
    assert "1 reconciled" in run("reconcile_orders")
    stuck.refresh_from_db()
    assert stuck.state == State.QUEUED and stuck.attempts == 1
    assert len(sandbox.state.orders()) == 1


def test_admin_bulk_actions_cancel_queued_and_report_skipped(client, superuser, queued):
    client.force_login(superuser)
    order = queued()
    done = queued()
    SalesOrder.objects.filter(pk=done.pk).update(state=State.SUBMITTED)
    response = client.post(
        reverse("admin:orders_salesorder_changelist"),
        {"action": "cancel_queued", "_selected_action": [order.pk, done.pk]},
        follow=True,
    )
    assert b"1 order cancelled." in response.content and b"1 skipped" in response.content
    order.refresh_from_db()
    assert order.state == State.CANCELLED
    page = client.get(reverse("admin:orders_salesorder_change", args=[done.pk])).content.decode()
    assert 'name="lines-0-inventory_id"' not in page


def test_submit_orders_refuses_an_empty_tenant_instead_of_sending_everything(queued):
    order = queued()
    with pytest.raises(CommandError, match="No tenant with tenant ID ''"):
        call_command("submit_orders", "--tenant", "")
    order.refresh_from_db()
    assert order.state == State.QUEUED
