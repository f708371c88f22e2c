"""E-mail about orders that need a person (see tenants.notifications for incidents and the once-per-incident rule)."""

from __future__ import annotations

from django.urls import reverse

from tenants.notifications import Incident, failed, recovered

from .models import SalesOrder


def order_failed(order: SalesOrder) -> None:
    """An order failed for good. A second report of the same failure mails nothing; a failure after it was sent
    again (a later attempt) is a new incident."""
    failed(
        f"order:{order.pk}",
        kind=Incident.Kind.ORDER,
        tenant_id=order.tenant_id,
        subject=f"Order {order.reference} for {order.tenant} failed",
        detail=(
            f"{order.last_error}\nAfter {order.attempts} attempt(s). Fix the order and submit it again, or cancel it."
        ),
        link=reverse("orders:order-detail", args=[order.pk]),
        since=order.attempt_started_at,
    )


def order_settled(order: SalesOrder) -> None:
    """The order reached Visma or was cancelled: an open incident about it is closed."""
    recovered(f"order:{order.pk}")
