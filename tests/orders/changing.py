"""Helpers for tests that change orders Visma has: an order the sandbox holds, what the sandbox has of it, changing
it "in Visma" through the sandbox's control endpoint, counting calls and injecting faults on its paths."""

from __future__ import annotations

import requests

from orders import changes, services
from orders.models import SalesOrder
from tests.ordering import make_order


def submitted(tenant, number="10000") -> SalesOrder:
    """An order Visma has (one line of STOCK-100 x 2), read once from Visma so its version and status are known."""
    order = make_order(tenant, number)
    assert services.queue(order)
    services.submit(order.pk)
    order.refresh_from_db()
    assert order.state == SalesOrder.State.SUBMITTED
    changes.read_now(order)
    return order


def in_visma(sandbox, order) -> dict:
    return sandbox.state.find_order(str(order.tenant.tenant_id), order.visma_type, order.visma_number)


def change_in_visma(sandbox, order, **body) -> dict:
    """What someone working in Visma does, through the sandbox's control endpoint."""
    url = f"{sandbox.base_url}/_sandbox/orders/{order.visma_type}/{order.visma_number}"
    response = requests.post(url, json={"tenant": str(order.tenant.tenant_id), **body}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def calls(sandbox, method: str, order, suffix: str = "") -> int:
    path = f"/api/v3/SalesOrders/{order.visma_type}/{order.visma_number}{suffix}"
    return sum(1 for r in sandbox.state.request_log() if r["method"] == method and r["path"] == path)


def fault(sandbox, order, method: str, kind: str, suffix: str = "", **extra) -> None:
    path = f"/api/v3/SalesOrders/{order.visma_type}/{order.visma_number}{suffix}"
    sandbox.state.set_faults([{"method": method, "path": path, "kind": kind, "times": 1, **extra}])
