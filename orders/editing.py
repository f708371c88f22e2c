"""What staff do to orders before Visma has them: save with lines, start a copy, the bulk actions, and whether a
tenant can take orders at all."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from . import delivery, services, timeline
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
            timeline.record(order, timeline.EDIT, "edited", user)
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


def copy_initial(source: SalesOrder) -> tuple[dict, list[dict]]:
    """What a new-order form starts with when staff copy `source`: its header, delivery and lines, today's date, and
    no customer's order number (it belongs to the order it came with). Nothing is saved until staff save the form;
    a customer no longer active in Visma is left for staff to choose again, and so is its delivery location."""
    header = {
        "order_type": source.order_type,
        "date": timezone.localdate(),
        "description": source.description,
        "customer_order": "",
        "status": source.status,
        "note": source.note,
        "request_on": source.request_on,
        **{name: getattr(source, name) for name in delivery.DELIVERY_FIELDS},
    }
    if source.customer.is_active:
        header["customer"] = source.customer
        header["location_id"] = source.location_id
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
    return header, lines


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


@dataclass(frozen=True)
class Intake:
    """Whether a tenant can take orders now, in words staff read before they type anything.

    `send_blocker` withholds "Save and submit" (drafts can still be saved); `draft_blocker` means nothing can be
    saved at all. Both empty: the tenant takes orders. `label` is the tenant chooser's badge."""

    send_blocker: str = ""
    draft_blocker: str = ""
    label: str = ""

    @property
    def reason(self) -> str:
        return self.draft_blocker or self.send_blocker


def intake(tenant, active_customers: int) -> Intake:
    """Why `tenant` cannot take orders now: deactivated, no write scope (services.send_blocker), the last token
    request failed, or no active customers synced (no customer to order for, so not even a draft)."""
    send_blocker = services.send_blocker(SalesOrder(tenant=tenant))
    if not tenant.active:
        return Intake(send_blocker, send_blocker, "Deactivated")
    label = "Drafts only" if send_blocker else ""
    if tenant.application.active and not tenant.can_write:
        label = "No write scope: drafts only"
    elif not send_blocker and tenant.token_failures:
        send_blocker = (
            f"Visma refused the last token request for {tenant.name}, so orders cannot be sent now. Test the "
            "connection on the tenant's page; Save and submit comes back once it passes."
        )
        label = "Token failing: drafts only"
    if not active_customers:
        draft_blocker = (
            f"No active customers are synced for {tenant.name} yet, so there is no customer to order for. "
            "Sync its customers first."
        )
        return Intake(send_blocker, draft_blocker, "No customers synced")
    return Intake(send_blocker, "", label)
