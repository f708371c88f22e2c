"""What staff do to orders before Visma has them: save with lines, copy, cancel, and the bulk actions."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from . import services
from .models import EDITABLE_STATES, SalesOrder, SalesOrderLine

State = SalesOrder.State


class NotEditable(Exception):
    """The order left an editable state (someone submitted or cancelled it) while it was being edited."""


def save(order: SalesOrder, lines: list[dict], user=None) -> SalesOrder:
    """Save the header and the lines (numbered 1..n in the order given) in one transaction.

    An existing order is locked first and must still be a draft or failed, so an edit never changes an order a
    worker is sending. Lines are updated in place, created and deleted one by one, so the audit trail shows what
    really changed.
    """
    with transaction.atomic():
        if order.pk:
            current = SalesOrder.objects.select_for_update().filter(pk=order.pk).values_list("state", flat=True)
            state = current.first()
            if state not in EDITABLE_STATES:
                raise NotEditable(f"Order {order.reference} is {state or 'gone'} now and can no longer be edited.")
            order.state = state
            order.sent_payload = None  # what was sent no longer matches the order; the page shows what will be sent
            order.save()
        else:
            order.created_by = user
            order.save()
        _save_lines(order, lines)
    return order


def _save_lines(order: SalesOrder, lines: list[dict]) -> None:
    existing = {line.pk: line for line in order.lines.all()}
    kept_ids = {line.get("id") for line in lines if line.get("id") in existing}
    for line_id in existing.keys() - kept_ids:
        existing[line_id].delete()
    # Kept lines keep their relative order and only move up, so renumbering never collides with a line not yet moved.
    for position, data in enumerate(lines, start=1):
        fields = {name: value for name, value in data.items() if name != "id"}
        line = existing.get(data.get("id")) if data.get("id") in kept_ids else None
        if line is None:
            SalesOrderLine.objects.create(order=order, position=position, **fields)
            continue
        changed = {
            name: value for name, value in {"position": position, **fields}.items() if getattr(line, name) != value
        }
        if changed:
            for name, value in changed.items():
                setattr(line, name, value)
            line.save(update_fields=list(changed))


def copy(source: SalesOrder, user=None) -> SalesOrder:
    """A new draft with the header and lines of any order: a new portal reference, no customer's order number and
    nothing of Visma's."""
    order = SalesOrder(
        tenant_id=source.tenant_id,
        customer_id=source.customer_id,
        order_type=source.order_type,
        date=timezone.localdate(),
        description=source.description,
        customer_order="",  # the customer's order number belongs to the order it came with, not to a copy
        status=source.status,
        note=source.note,
    )
    lines = [
        {
            "inventory_id": line.inventory_id,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "tax_category": line.tax_category,
        }
        for line in source.lines.all()
    ]
    return save(order, lines, user)


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def message(self, verb: str) -> str:
        text = f"{len(self.done)} order{'s' if len(self.done) != 1 else ''} {verb}."
        if self.skipped:
            shown = ", ".join(self.skipped[:10]) + (" …" if len(self.skipped) > 10 else "")
            text += f" {len(self.skipped)} skipped because of their state or tenant: {shown}."
        return text


BULK_VERBS = {"submit": "queued for submission", "retry": "queued again", "cancel": "cancelled"}


def bulk(action: str, orders, user=None) -> BulkResult:
    """Submit drafts/failed (write scope needed), retry failed ones, or cancel queued ones; report what was skipped."""
    result = BulkResult()
    for order in orders:
        if action == "submit":
            ok = services.can_send(order) and services.queue(order, user)
        elif action == "retry":
            ok = order.state == State.FAILED and services.can_send(order) and services.queue(order, user)
        elif action == "cancel":
            ok = order.state == State.QUEUED and services.cancel(order, actor=user)[0]
        else:
            raise ValueError(f"unknown bulk action {action!r}")
        (result.done if ok else result.skipped).append(order.reference)
    return result
