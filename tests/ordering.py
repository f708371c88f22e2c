"""Small helpers for tests that send orders to the sandbox: a one-line order, making it due, counting POSTs."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from orders.models import SalesOrder, SalesOrderLine
from tenants.models import Customer


def make_order(tenant, number="10000") -> SalesOrder:
    customer, _ = Customer.objects.get_or_create(
        tenant=tenant, number=number, defaults={"name": f"Kunde {number}", "status": "Active"}
    )
    order = SalesOrder.objects.create(tenant=tenant, customer=customer)
    SalesOrderLine.objects.create(order=order, position=1, inventory_id="STOCK-100", quantity=Decimal("2"))
    return order


def make_due(order) -> None:
    SalesOrder.objects.filter(pk=order.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def posts(server) -> int:
    """POSTs of sales orders the sandbox received."""
    return sum(1 for r in server.state.request_log() if r["method"] == "POST" and r["path"] == "/api/v3/SalesOrders")


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
