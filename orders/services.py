"""Order submission, exactly once. Visma has no idempotency key, so a POST whose outcome is unknown is never
repeated blindly: the customer's recent orders are searched for our reference first (`reconcile`)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from core.audit import record_update
from tenants import api_log
from tenants.visma import (
    OutcomeUnknown,
    RateLimited,
    TokenRejected,
    VismaClient,
    VismaError,
    VismaUnavailable,
)

from . import notifications, payload
from .models import CANCELLABLE_STATES, SalesOrder, SubmissionAttempt

logger = logging.getLogger(__name__)
State = SalesOrder.State
CLOCK_SLACK = timedelta(minutes=5)


def queue(order: SalesOrder, user=None) -> bool:
    """Move a draft or failed order to queued and enqueue it after commit. False if it was not in such a state."""
    changed = SalesOrder.objects.filter(pk=order.pk, state__in=[State.DRAFT, State.FAILED]).update(
        state=State.QUEUED, next_attempt_at=timezone.now(), submitted_by=user, attempts=0, last_error=""
    )
    if changed:
        record_update(order, {"state": (order.state, State.QUEUED)}, actor=user)
        # A broker outage must not undo the queueing: the sweeper enqueues due orders every minute anyway.
        transaction.on_commit(lambda: enqueue(order.pk), robust=True)
    return bool(changed)


def enqueue(order_id: int) -> None:
    from django_q.tasks import async_task

    async_task("orders.tasks.submit_order", order_id, task_name=f"order-{order_id}", group="orders")


def can_send(order: SalesOrder) -> bool:
    """Whether the order's tenant may receive orders now: active, its application active, write scope approved."""
    return not send_blocker(order)


def send_blocker(order: SalesOrder) -> str:
    """Why the order cannot be sent to its tenant, in words for staff; empty when nothing blocks it."""
    tenant = order.tenant
    if not tenant.active:
        return f"{tenant.name} is deactivated."
    if not tenant.application.active:
        return f"The service application {tenant.application.name} is deactivated."
    if not tenant.can_write:
        return (
            f"{tenant.name} has not approved the write scope, so orders cannot be sent to it. Ask the customer's "
            "Integration Administrator to approve visma.net.erp.salesorder:write in the Visma App Store."
        )
    return ""


def submit(order_id: int) -> SalesOrder | None:
    """Claim the order (queued -> submitting) with one conditional UPDATE; a second delivery finds nothing to do."""
    now = timezone.now()
    claimed = SalesOrder.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now), pk=order_id, state=State.QUEUED
    ).update(state=State.SUBMITTING, attempts=F("attempts") + 1, attempt_started_at=now, next_attempt_at=None)
    if not claimed:
        return None
    order = SalesOrder.objects.select_related("tenant__application", "customer").get(pk=order_id)
    if blocker := send_blocker(order):  # the tenant changed after the order was queued
        _log(order, "post", "not sent", time.monotonic(), VismaError(blocker))
        return _fail(order, VismaError(f"Not sent: {blocker}"))
    if outcome_was_unknown(order) and (looked_up := reconcile(order, before_resend=True)) is not None:
        return looked_up
    body = payload.build(order)
    SalesOrder.objects.filter(pk=order_id).update(sent_payload=body)
    started = time.monotonic()
    try:
        with api_log.context(f"order {order.reference}"):
            created = VismaClient(order.tenant).create_sales_order(body)
    except OutcomeUnknown as exc:
        _log(order, "post", "unknown", started, exc)
        return reconcile(order)
    except RateLimited as exc:
        _log(order, "post", "rate limited", started, exc)
        return _requeue(order, exc, delay=exc.retry_after, count_attempt=False)
    except (VismaUnavailable, TokenRejected) as exc:
        _log(order, "post", "not sent", started, exc)
        if isinstance(exc, TokenRejected):
            return _fail(order, exc)
        return _requeue(order, exc)
    except VismaError as exc:
        _log(order, "post", "rejected", started, exc)
        return _fail(order, exc)
    _log(order, "post", "created", started, None, status=201, request_id=created.request_id)
    return _submitted(order, created.order_type, created.order_number)


def reconcile(order: SalesOrder, *, before_resend: bool = False) -> SalesOrder | None:
    """After an unknown outcome: find the order in Visma by our reference, or try again later, or give up.

    Visma may create an order after its POST timed out and after the lookup that followed, so every resend is
    preceded by another lookup (`before_resend`: None when the order is not found and may be sent).
    """
    try:
        match = _look_up(order)
    except VismaError as exc:
        delay = _backoff(order.attempts)
        SalesOrder.objects.filter(pk=order.pk, state=State.SUBMITTING).update(
            next_attempt_at=timezone.now() + timedelta(seconds=delay), last_error=f"Outcome unknown; {exc}"
        )
        order.refresh_from_db()
        return order
    if match:
        return _submitted(order, *match)
    if before_resend:
        return None
    return _requeue(order, VismaError(NOT_FOUND), then="sending it again")


NOT_FOUND = "Visma did not confirm the order and it was not found in Visma"


def outcome_was_unknown(order: SalesOrder) -> bool:
    """Whether a POST of this order may have created it without the portal hearing back: look before resending."""
    return bool(order.pk) and order.attempts_log.filter(kind="post", outcome="unknown").exists()


def find_in_visma(order: SalesOrder) -> tuple[str, str] | None:
    """(type, number) of the Visma order carrying our reference, looked up among the customer's recent orders."""
    first_post = order.attempts_log.filter(kind="post").aggregate(first=Min("started_at"))["first"]
    since = min(t for t in (first_post, order.attempt_started_at, timezone.now()) if t) - CLOCK_SLACK
    with api_log.context(f"order {order.reference}"):
        found = VismaClient(order.tenant).find_sales_orders(order.customer.number, since)
    match = next((o for o in found if isinstance(o, dict) and o.get("customerRefNo") == order.reference), None)
    if match is None:
        return None
    return str(match.get("type") or order.order_type), str(match.get("orderId") or "")


def _look_up(order: SalesOrder) -> tuple[str, str] | None:
    """`find_in_visma`, with the lookup and its outcome on the order's timeline."""
    started = time.monotonic()
    try:
        match = find_in_visma(order)
    except VismaError as exc:
        _log(order, "lookup", "failed", started, exc)
        raise
    _log(order, "lookup", "found" if match else "not found", started, None)
    return match


def cancel(order: SalesOrder, actor=None) -> tuple[bool, str]:
    """Cancel a draft, queued or failed order. One whose POST may have reached Visma is looked up first: if Visma
    has it, it becomes submitted instead; if Visma cannot be asked, it is not cancelled."""
    if order.state != State.DRAFT and outcome_was_unknown(order):
        try:
            match = _look_up(order)
        except VismaError as exc:
            return False, f"Visma may already have this order and could not be asked just now ({exc}). Try again."
        if match:
            _submitted(order, *match, expected=CANCELLABLE_STATES)
            return (
                False,
                f"Visma already has this order as {match[0]} {match[1]}; it is marked submitted, not cancelled.",
            )
    if SalesOrder.objects.filter(pk=order.pk, state__in=CANCELLABLE_STATES).update(state=State.CANCELLED):
        record_update(order, {"state": (order.state, State.CANCELLED)}, actor=actor)
        notifications.order_settled(order)
        return True, ""
    order.refresh_from_db()
    return False, f"It is {order.get_state_display().lower()} and can no longer be cancelled."


def due_orders(tenant=None, limit: int = 500) -> list[int]:
    """Ids of queued orders whose next attempt is due, oldest first."""
    due = SalesOrder.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()), state=State.QUEUED
    )
    if tenant is not None:
        due = due.filter(tenant=tenant)
    return list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])


def sweep() -> str:
    """Every minute: enqueue due queued orders, then reconcile orders stuck in submitting (a worker died mid-request).

    Each stuck order is claimed before it is looked up, so overlapping sweeps never work on the same order, and one
    order's trouble never stops the others.
    """
    due = due_orders()
    for order_id in due:
        enqueue(order_id)
    now = timezone.now()
    stale = now - timedelta(seconds=settings.Q_CLUSTER["timeout"] + 30)
    stuck = SalesOrder.objects.filter(state=State.SUBMITTING).filter(
        Q(attempt_started_at__lt=stale, next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    reconciled = failed = 0
    for order in stuck.select_related("tenant__application", "customer")[:100]:
        claimed = SalesOrder.objects.filter(
            pk=order.pk, state=State.SUBMITTING, attempt_started_at=order.attempt_started_at
        ).update(attempt_started_at=now, next_attempt_at=now + timedelta(seconds=settings.Q_CLUSTER["timeout"]))
        if not claimed:
            continue
        order.attempt_started_at = now
        try:
            reconcile(order)
            reconciled += 1
        except Exception:
            failed += 1
            logger.exception("Could not reconcile order %s; the sweeper tries again later", order.reference)
    return f"{len(due)} enqueued, {reconciled} reconciled" + (f", {failed} could not be reconciled" if failed else "")


def _submitted(order: SalesOrder, order_type: str, number: str, *, expected=(State.SUBMITTING,)) -> SalesOrder:
    settled = SalesOrder.objects.filter(pk=order.pk, state__in=expected).update(
        state=State.SUBMITTED,
        visma_type=order_type,
        visma_number=number,
        submitted_at=timezone.now(),
        next_attempt_at=None,
        last_error="",
        last_error_status=None,
        last_error_request_id="",
        last_error_details={},
    )
    previous = order.state
    order.refresh_from_db()
    if settled:
        record_update(order, {"state": (previous, State.SUBMITTED), "visma_number": ("", f"{order_type} {number}")})
        notifications.order_settled(order)
    return order


def _requeue(
    order: SalesOrder, exc: VismaError, *, delay: int | None = None, count_attempt: bool = True, then: str = ""
):
    if count_attempt and order.attempts >= settings.ORDER_MAX_ATTEMPTS:
        return _fail(order, VismaError(f"Gave up after {order.attempts} attempts. {exc}."))
    wait = delay if delay is not None else _backoff(order.attempts)
    SalesOrder.objects.filter(pk=order.pk, state=State.SUBMITTING).update(
        state=State.QUEUED,
        next_attempt_at=timezone.now() + timedelta(seconds=wait),
        attempts=F("attempts") if count_attempt else F("attempts") - 1,
        last_error=f"{exc}; {then}." if then else str(exc),
    )
    order.refresh_from_db()
    return order


def _fail(order: SalesOrder, exc: VismaError) -> SalesOrder:
    details = {"errors": exc.field_errors or {}, "details": exc.details or []}
    failed = SalesOrder.objects.filter(pk=order.pk, state=State.SUBMITTING).update(
        state=State.FAILED,
        next_attempt_at=None,
        last_error=str(exc),
        last_error_status=exc.status,
        last_error_request_id=exc.request_id or "",
        last_error_details=details,
    )
    order.refresh_from_db()
    if failed:
        record_update(order, {"state": (State.SUBMITTING, State.FAILED), "last_error": ("", order.last_error)})
        notifications.order_failed(order)
    return order


def _backoff(attempts: int) -> int:
    return min(settings.ORDER_BACKOFF_SECONDS * 2 ** max(0, attempts - 1), 3600)


def _log(order, kind, outcome, started, exc, status=None, request_id=None) -> None:
    SubmissionAttempt.objects.create(
        order=order,
        kind=kind,
        outcome=outcome,
        duration_ms=int((time.monotonic() - started) * 1000),
        status=status if exc is None else exc.status,
        request_id=(request_id if exc is None else exc.request_id) or "",
        message="" if exc is None else str(exc)[:2000],
    )
