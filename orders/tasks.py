"""django-q2 entry points: thin, they take ids and call services."""

from __future__ import annotations

from tenants.models import Tenant

from . import changes, refresh, services


def submit_order(order_id: int) -> str:
    order = services.submit(order_id)
    return "already claimed or not due" if order is None else f"{order.reference}: {order.state}"


def sweep_orders() -> str:
    return f"{services.sweep()}; {changes.sweep()}"


def apply_order_change(change_id: int) -> str:
    change = changes.apply_change(change_id)
    return "already claimed or not due" if change is None else f"{change}: {change.state}"


def enqueue_orders(order_ids: list[int]) -> int:
    """Hand each order to `submit_order` (imported orders, queued in one go)."""
    for order_id in order_ids:
        services.enqueue(order_id)
    return len(order_ids)


def refresh_all_tenants() -> str:
    """The schedule: one refresh task per tenant with orders to follow."""
    count = refresh.enqueue_all()
    return f"{count} tenant{'s' if count != 1 else ''} to refresh"


def refresh_tenant_orders(tenant_id: int) -> str:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return "tenant gone"
    return f"{tenant.name}: {refresh.refresh_tenant(tenant).summary()}"
