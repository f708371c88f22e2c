"""Helpers for the tests of following orders after submission: orders Visma has (in the sandbox) with their portal
twins, changes made "in Visma" through the sandbox's control endpoint, and the list calls the sandbox received."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import requests
from django.utils import timezone

from orders.models import SalesOrder, SalesOrderLine, new_reference
from tenants.models import Customer

State = SalesOrder.State
LIST = "/api/v3/SalesOrders"


def customer_of(tenant, number: str = "10000") -> Customer:
    customer, _ = Customer.objects.get_or_create(
        tenant=tenant, number=number, defaults={"name": f"Kunde {number}", "status": "Active"}
    )
    return customer


def in_visma(sandbox, tenant, *, reference: str | None = None, customer: str = "10000", quantity=2, price=100):
    """An order as Visma has it, created in the sandbox without a request (as if another system made it)."""
    body = {
        "type": "SO",
        "customer": {"id": customer, "refNo": reference or new_reference()},
        "orderLines": [{"inventoryId": "STOCK-100", "quantity": quantity, "unitPrice": price}],
    }
    return sandbox.state.store_order(str(tenant.tenant_id), body)


def submitted(tenant, visma: dict, *, submitted_ago=timedelta(minutes=1), **fields) -> SalesOrder:
    """The portal's twin of `visma`: submitted, with the same reference, type and number, and the body it sent."""
    body = visma["body"]
    line = body["orderLines"][0]
    order = SalesOrder.objects.create(
        tenant=tenant,
        customer=customer_of(tenant, visma["customerId"]),
        reference=visma["customerRefNo"],
        state=State.SUBMITTED,
        visma_type=visma["type"],
        visma_number=visma["orderId"],
        submitted_at=timezone.now() - submitted_ago,
        sent_payload=body,
        **fields,
    )
    SalesOrderLine.objects.create(
        order=order,
        position=1,
        inventory_id=line["inventoryId"],
        quantity=Decimal(str(line["quantity"])),
        unit_price=Decimal(str(line["unitPrice"])),
    )
    return order


def followed_orders(sandbox, tenant, count: int) -> list[SalesOrder]:
    return [submitted(tenant, in_visma(sandbox, tenant)) for _ in range(count)]


def change_in_visma(sandbox, order: SalesOrder, **change) -> dict:
    """Someone changes the order in Visma (status, description, lines, delete_lines): the sandbox's control
    endpoint, over HTTP."""
    url = f"{sandbox.base_url}/_sandbox/orders/{order.visma_type}/{order.visma_number}"
    response = requests.post(url, json={"tenant": str(order.tenant.tenant_id), **change}, timeout=10)
    response.raise_for_status()
    return response.json()


def list_calls(sandbox, tenant=None) -> int:
    """GET /api/v3/SalesOrders requests the sandbox received (for one tenant, or all)."""
    return sum(
        1
        for entry in sandbox.state.request_log()
        if entry["method"] == "GET"
        and entry["path"] == LIST
        and (tenant is None or entry["tenant"] == str(tenant.tenant_id))
    )
