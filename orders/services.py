"""Order submission, exactly once. Visma has no idempotency key, so a POST whose outcome is unknown is never
repeated blindly: the customer's recent orders are searched for our reference first (`reconcile`)."""

from __future__ import annotations

import functools
import logging
import time
from datetime import timedelta
from types import SimpleNamespace

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, DateTimeField, F, Max, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.audit import record_update
from tenants import api_log, reachability
from tenants.models import Tenant
from tenants.visma import (
    OutcomeUnknown,
    RateLimited,
    Refused,
    Throttled,
    TokenRejected,
    VismaClient,
    VismaError,
    VismaUnavailable,
)

from . import notifications, payload, timeline, wakeups
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
        timeline.record(order, timeline.QUEUE, "resubmitted" if order.state == State.FAILED else "submitted", user)
        # A broker outage must not undo the queueing: the sweeper enqueues due orders every minute anyway.
        transaction.on_commit(lambda: enqueue(order.pk), robust=True)
    return bool(changed)


def enqueue(order_id: int) -> None:
    from django_q.tasks import async_task

    # Only failures are kept as task results: the order and its timeline already say how each submission went.
    async_task("orders.tasks.submit_order", order_id, task_name=f"order-{order_id}", group="orders", save=False)


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


def submit(order_id: int, *, may_swap: bool = True) -> SalesOrder | None:
    """Send one queued, due order to Visma, exactly once.

    The order is read, then claimed (queued -> submitting) with one conditional UPDATE that also checks nobody sent or
    edited it since it was read; a second delivery of the task finds nothing to do. An attempt is counted only when a
    POST goes out. When the tenant already has its share of workers and another tenant's order waits, that order is
    sent instead and this one is handed to a worker again (`fair_turn`).
    """
    order = _read_due(order_id)
    if order is None:
        return None
    blocker = send_blocker(order)
    paused = None if blocker else reachability.paused_until(order.tenant)
    lost_answer = order.last_lost_answer_at is not None
    if blocker or paused is not None or lost_answer:
        if not _claim(order):
            return _not_claimed(order, may_swap)
        if blocker:  # the tenant changed after the order was queued
            _log(order, "post", "not sent", time.monotonic(), VismaError(blocker))
            return _fail(order, VismaError(f"Not sent: {blocker}"))
        if paused is not None:
            return _wait_for_visma(order, paused)
    client = VismaClient(order.tenant, budget=settings.ORDER_TASK_BUDGET_SECONDS)
    if lost_answer:
        if looked_up := reconcile(order, client, before_resend=True):
            return looked_up
        return _send(order, client, payload.build(order), claimed=True)
    try:
        client.take_turn()
    except Throttled as exc:
        return _hold_back(order, exc)
    return _send(order, client, payload.build(order), claimed=False, may_swap=may_swap)


def _read_due(order_id: int) -> SalesOrder | None:
    """The order if it is queued and due, with its tenant, customer and when a POST of it last lost its answer."""
    last_lost = RawSQL(_sql().last_lost_answer, ["post", "unknown"], output_field=DateTimeField())  # noqa: S611
    found = (
        SalesOrder.objects.select_related("tenant__application", "customer")
        .annotate(last_lost_answer_at=last_lost)
        .filter(_due(timezone.now()), pk=order_id, state=State.QUEUED)
        .order_by()[:1]
    )
    return next(iter(found), None)


def _due(now) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def _unchanged_since_read(order: SalesOrder) -> Q:
    """Nobody claimed (every claim moves attempt_started_at) or edited (every edit saves updated_at) the order since
    it was read, so what was read is what gets sent."""
    started = Q(attempt_started_at=order.attempt_started_at) if order.attempt_started_at else Q(attempt_started_at=None)
    return started & Q(updated_at=order.updated_at)


def _claim(order: SalesOrder, **sending) -> bool:
    """queued -> submitting, if the order is still as read and its tenant may have another worker (`fair_turn`)."""
    now = timezone.now()
    claimed = SalesOrder.objects.filter(
        _due(now), _unchanged_since_read(order), fair_turn(order.tenant_id), pk=order.pk, state=State.QUEUED
    ).update(state=State.SUBMITTING, attempt_started_at=now, next_attempt_at=None, **sending)
    if claimed:
        order.state, order.attempt_started_at, order.next_attempt_at = State.SUBMITTING, now, None
    return bool(claimed)


def in_flight(tenant):
    """The tenant's orders a worker is sending right now (not those waiting to be looked up again)."""
    return SalesOrder.objects.filter(tenant=tenant, state=State.SUBMITTING, next_attempt_at__isnull=True)


def fair_turn(tenant_id) -> RawSQL:
    """True when the tenant may have one more order sent now: it has fewer than ORDER_TENANT_CONCURRENCY in flight,
    or no other tenant below that share has an order waiting (then it may use every worker). Written out once in
    SQL (`_sql`): it is part of every claim, and building it with the ORM cost more than the rest of the claim."""
    params = [tenant_id, State.SUBMITTING.value, settings.ORDER_TENANT_CONCURRENCY - 1, *_waiting_params(tenant_id)]
    return RawSQL(_sql().fair_turn, params, output_field=BooleanField())  # noqa: S611 - values are parameters


def _waiting_params(tenant_id) -> list:
    """Parameters of `_sql().tenants_waiting`: tenants other than this one with a due order and room to send it."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    skip = settings.ORDER_TENANT_CONCURRENCY - 1
    return [tenant_id, State.QUEUED.value, now, State.SUBMITTING.value, skip]


@functools.cache
def _sql() -> SimpleNamespace:
    """The hot statements' SQL: only this database's quoted table names are written in, every value is a parameter."""
    quote = connection.ops.quote_name
    orders, tenants = quote(SalesOrder._meta.db_table), quote(Tenant._meta.db_table)
    attempts = quote(SubmissionAttempt._meta.db_table)
    busy = f"SELECT 1 FROM {orders} b WHERE b.tenant_id = {{tenant}} AND b.state = %s AND b.next_attempt_at IS NULL"  # noqa: S608
    waiting = (
        f"SELECT t.id FROM {tenants} t WHERE t.id <> %s AND EXISTS (SELECT 1 FROM {orders} d WHERE "  # noqa: S608
        "d.tenant_id = t.id AND d.state = %s AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= %s)) "
        f"AND NOT EXISTS ({busy.format(tenant='t.id')} LIMIT 1 OFFSET %s)"
    )
    return SimpleNamespace(
        tenants_waiting=waiting,
        fair_turn=f"(NOT EXISTS ({busy.format(tenant='%s')} LIMIT 1 OFFSET %s) OR NOT EXISTS ({waiting}))",
        last_lost_answer=(
            f"SELECT MAX(a.started_at) FROM {attempts} a WHERE a.order_id = {orders}.id AND a.kind = %s "  # noqa: S608
            "AND a.outcome = %s"
        ),
    )


def fair_turn_for(order: SalesOrder) -> bool:
    """Whether the order's tenant may have one more order sent now (see `fair_turn`)."""
    return SalesOrder.objects.filter(fair_turn(order.tenant_id), pk=order.pk).exists()


def _not_claimed(order: SalesOrder, may_swap: bool) -> SalesOrder | None:
    """The claim failed: another worker has the order, or its tenant already has its share of workers while another
    tenant's order waits. Then that order goes first and this one is handed to a worker again."""
    if not SalesOrder.objects.filter(_due(timezone.now()), pk=order.pk, state=State.QUEUED).exists():
        return None
    transaction.on_commit(lambda: enqueue(order.pk), robust=True)
    if not may_swap:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"{_sql().tenants_waiting} LIMIT 1", _waiting_params(order.tenant_id))
        waiting = cursor.fetchone()
    if waiting is None:
        return None
    turn = (
        SalesOrder.objects.filter(_due(timezone.now()), tenant_id=waiting[0], state=State.QUEUED)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    return submit(turn, may_swap=False) if turn is not None else None


def _hold_back(order: SalesOrder, exc: Throttled) -> SalesOrder:
    """The tenant's rate budget has no turn for this order soon: it waits, unclaimed, until the budget has one."""
    when = timezone.now() + timedelta(seconds=exc.retry_after)
    SalesOrder.objects.filter(pk=order.pk, state=State.QUEUED).update(next_attempt_at=when, last_error=str(exc))
    wakeups.enqueue_at(order.pk, when)
    order.next_attempt_at, order.last_error = when, str(exc)
    return order


def _send(
    order: SalesOrder, client: VismaClient, body: dict, *, claimed: bool, may_swap: bool = False
) -> SalesOrder | None:
    """POST the order. `claimed`: already submitting (after a lookup); otherwise claimed here by the same UPDATE that
    records what is sent."""
    sending = {"sent_payload": body, "attempts": F("attempts") + 1}
    if claimed:
        # Still submitting, or found in Visma meanwhile under our reference (the order refresh): then never sent again.
        if not SalesOrder.objects.filter(pk=order.pk, state=State.SUBMITTING).update(**sending):
            order.refresh_from_db()
            return order
    elif not _claim(order, **sending):
        return _not_claimed(order, may_swap)
    order.attempts += 1
    order.sent_payload = body
    was_unreachable = order.tenant.unreachable_since is not None
    # On the timeline before anything is sent: a worker that dies mid-POST leaves a row the sweeper treats as a
    # lost answer, with the time and customer the lookup needs.
    post = SubmissionAttempt.objects.create(
        order=order, kind="post", outcome=IN_FLIGHT, customer_number=order.customer.number
    )
    started = time.monotonic()
    try:
        with api_log.context(f"order {order.reference}"):
            created = client.create_sales_order(body)
    except OutcomeUnknown as exc:
        _settle(post, "unknown", started, exc)
        _reached(order, was_unreachable)
        return reconcile(order, client)
    except Throttled as exc:  # held back after a lookup: nothing was sent
        _settle(post, "not sent", started, exc)
        return _requeue(order, exc, delay=exc.retry_after, count_attempt=False)
    except RateLimited as exc:
        _settle(post, "rate limited", started, exc)
        _reached(order, was_unreachable)
        return _requeue(order, exc, delay=exc.retry_after, count_attempt=False)
    except (Refused, TokenRejected) as exc:
        _settle(post, "not sent", started, exc)
        return _fail(order, exc)
    except VismaUnavailable as exc:
        _settle(post, "not sent", started, exc)
        if exc.unreachable:
            reachability.failed(order.tenant, str(exc))
            if order.tenant.unreachable_since is not None:
                return _wait_for_visma(order, order.tenant.unreachable_probe_at, given_back=True)
        return _requeue(order, exc, count_attempt=False)
    except VismaError as exc:
        _settle(post, "rejected", started, exc)
        _reached(order, was_unreachable)
        return _fail(order, exc)
    _settle(post, "created", started, None, status=201, request_id=created.request_id)
    _reached(order, was_unreachable)
    submitted = _submitted(order, created.order_type, created.order_number)
    if submitted.state == State.SUBMITTED and submitted.visma_number != created.order_number:
        _created_twice(submitted, post, created)
    return submitted


def _created_twice(order: SalesOrder, post: SubmissionAttempt, created) -> None:
    """The order was found in Visma (an earlier POST that lost its answer, seen by the order refresh) while this POST
    was on its way: Visma now has it twice. Staff must cancel one of them in Visma; the portal keeps the first."""
    message = (
        f"Visma created this order a second time as {created.order_type} {created.order_number}: it had already "
        f"been found in Visma as {order.visma_label} while this send was on its way. Cancel one of them in Visma."
    )
    SubmissionAttempt.objects.filter(pk=post.pk).update(message=message)
    logger.error("Order %s: %s", order.reference, message)


def reconcile(order: SalesOrder, client: VismaClient | None = None, *, before_resend: bool = False):
    """After an unknown outcome: find the order in Visma by our reference, or look again later, or send it again.

    Visma may create an order minutes after its POST lost its answer, so until the last such POST is
    `ORDER_RESEND_AFTER_SECONDS` old the order is only looked up, never sent again. `before_resend`: returns None
    when the order was not found and may be sent now.
    """
    client = client or VismaClient(order.tenant, budget=settings.ORDER_TASK_BUDGET_SECONDS)
    try:
        match = _look_up(order, client)
    except VismaError as exc:
        if isinstance(exc, VismaUnavailable) and exc.unreachable:
            reachability.failed(order.tenant, str(exc))
        delay = exc.retry_after if isinstance(exc, RateLimited) else _backoff(order.attempts)
        SalesOrder.objects.filter(pk=order.pk, state=State.SUBMITTING).update(
            next_attempt_at=timezone.now() + timedelta(seconds=delay), last_error=f"Outcome unknown; {exc}"
        )
        order.refresh_from_db()
        return order
    if match:
        return _submitted(order, *match)
    resend_at = resend_allowed_at(order)
    if resend_at is not None and resend_at > timezone.now():
        return _look_again_later(order, resend_at)
    if before_resend:
        return None
    return _requeue(order, VismaError(NOT_FOUND), then="sending it again")


NOT_FOUND = "Visma did not confirm the order and it was not found in Visma"
IN_FLIGHT = "in flight"


def resend_allowed_at(order: SalesOrder):
    """When the order may be POSTed again after its last lost answer; None when no POST of it had a lost answer."""
    if not order.pk:
        return None
    last = order.attempts_log.filter(kind="post", outcome="unknown").aggregate(last=Max("started_at"))["last"]
    return last + timedelta(seconds=settings.ORDER_RESEND_AFTER_SECONDS) if last else None


def outcome_was_unknown(order: SalesOrder) -> bool:
    """Whether a POST of this order may have created it without the portal hearing back: look before resending."""
    return resend_allowed_at(order) is not None


def find_in_visma(order: SalesOrder, client: VismaClient | None = None) -> tuple[str, str] | None:
    """(type, number) of the Visma order carrying our reference, looked up under every customer a POST of it with a
    lost answer was sent for (an edited order may have changed customer since) and its current one."""
    client = client or VismaClient(order.tenant, budget=settings.ORDER_TASK_BUDGET_SECONDS)
    posts = list(order.attempts_log.filter(kind="post").values_list("started_at", "customer_number"))
    numbers = dict.fromkeys([order.customer.number, *(number for _, number in posts if number)])
    first = min([started for started, _ in posts] + [order.attempt_started_at or timezone.now(), timezone.now()])
    with api_log.context(f"order {order.reference}"):
        for number in numbers:
            found = client.find_sales_orders(number, first - CLOCK_SLACK)
            match = next((o for o in found if isinstance(o, dict) and o.get("customerRefNo") == order.reference), None)
            if match is not None:
                return str(match.get("type") or order.order_type), str(match.get("orderId") or "")
    return None


def _look_up(order: SalesOrder, client: VismaClient | None = None) -> tuple[str, str] | None:
    """`find_in_visma`, with the lookup and its outcome on the order's timeline."""
    started = time.monotonic()
    try:
        match = find_in_visma(order, client)
    except VismaError as exc:
        _log(order, "lookup", "failed", started, exc)
        raise
    _log(order, "lookup", "found" if match else "not found", started, None)
    return match


def _look_again_later(order: SalesOrder, resend_at) -> SalesOrder:
    """Not found yet, and too soon to send again: stay submitting and look again, sooner at first, then less often."""
    now = timezone.now()
    sent_ago = (now - (resend_at - timedelta(seconds=settings.ORDER_RESEND_AFTER_SECONDS))).total_seconds()
    delay = min(max(settings.ORDER_BACKOFF_SECONDS, sent_ago / 2), (resend_at - now).total_seconds())
    next_look = now + timedelta(seconds=max(1.0, delay))
    SalesOrder.objects.filter(pk=order.pk, state=State.SUBMITTING).update(
        next_attempt_at=next_look,
        last_error=(
            f"Visma's answer was lost and the order is not in Visma yet. Looking again at "
            f"{timezone.localtime(next_look):%H:%M:%S}; it is not sent again before "
            f"{timezone.localtime(resend_at):%H:%M:%S}, in case Visma is still creating it."
        ),
    )
    order.refresh_from_db()
    return order


def _wait_for_visma(order: SalesOrder, until, *, given_back: bool = False) -> SalesOrder:
    """The tenant's Visma is unreachable: back to the queue until the next probe, no attempt used."""
    SalesOrder.objects.filter(pk=order.pk, state=State.SUBMITTING).update(
        state=State.QUEUED,
        next_attempt_at=until or timezone.now() + timedelta(seconds=reachability.retry_every()),
        attempts=F("attempts") - 1 if given_back else F("attempts"),
        last_error=reachability.describe(order.tenant) or f"{reachability.PAUSED_PREFIX}: nothing could be sent.",
    )
    order.refresh_from_db()
    return order


def _reached(order: SalesOrder, was_unreachable: bool) -> None:
    """Visma answered: close the tenant's breaker, and send the orders that waited for it now, not at the next probe."""
    reachability.succeeded(order.tenant)
    if was_unreachable:
        waiting = SalesOrder.objects.filter(
            tenant=order.tenant, state=State.QUEUED, last_error__startswith=reachability.PAUSED_PREFIX
        )
        ids = list(waiting.values_list("pk", flat=True))
        waiting.update(next_attempt_at=timezone.now())
        for order_id in ids:
            transaction.on_commit(lambda order_id=order_id: enqueue(order_id), robust=True)


def cancel(order: SalesOrder, actor=None) -> tuple[bool, str]:
    """Cancel a draft, queued or failed order. One whose POST may have reached Visma is looked up first: if Visma
    has it, it becomes submitted instead; if Visma cannot be asked, it is not cancelled."""
    resend_at = resend_allowed_at(order) if order.state != State.DRAFT else None
    if resend_at is not None:
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
        if resend_at > timezone.now():
            return False, (
                "Visma may still be creating this order: the answer to its last send was lost. It is not in Visma "
                f"yet; it can be cancelled from {timezone.localtime(resend_at):%H:%M} if it has not appeared by then."
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
    paused: set[int] = set()  # tenants whose Visma cannot be reached: their orders wait for the next probe
    until = time.monotonic() + settings.Q_CLUSTER["timeout"] / 2  # a sweep is never cut short by the task timeout
    for order in stuck.select_related("tenant__application", "customer")[:100]:
        tenant = order.tenant
        if time.monotonic() > until:
            break
        if order.tenant_id in paused or reachability.waiting_for_probe(tenant):
            continue
        # Claimed by moving its next look on: attempt_started_at stays, it bounds the lookup's search.
        unchanged = Q(next_attempt_at=order.next_attempt_at) if order.next_attempt_at else Q(next_attempt_at=None)
        claimed = SalesOrder.objects.filter(unchanged, pk=order.pk, state=State.SUBMITTING).update(
            next_attempt_at=now + timedelta(seconds=settings.Q_CLUSTER["timeout"])
        )
        if not claimed:
            continue
        order.attempts_log.filter(kind="post", outcome=IN_FLIGHT).update(
            outcome="unknown", message="The worker stopped before Visma answered; Visma may have the order."
        )
        try:
            reconcile(order)
            reconciled += 1
            if tenant.unreachable_since is not None:
                paused.add(tenant.pk)
        except Exception:
            failed += 1
            logger.exception("Could not reconcile order %s; the sweeper tries again later", order.reference)
    return f"{len(due)} enqueued, {reconciled} reconciled" + (f", {failed} could not be reconciled" if failed else "")


def found_in_visma(order: SalesOrder, order_type: str, number: str) -> SalesOrder:
    """Visma has the order under our reference although its POST lost its answer (the order refresh saw it): it is
    submitted with Visma's number from now on, so it is never sent again."""
    _log(order, "lookup", "found", time.monotonic(), None)
    return _submitted(order, order_type, number, expected=(State.QUEUED, State.SUBMITTING, State.FAILED))


def _submitted(order: SalesOrder, order_type: str, number: str, *, expected=(State.SUBMITTING,)) -> SalesOrder:
    now = timezone.now()
    settled = SalesOrder.objects.filter(pk=order.pk, state__in=expected).update(
        state=State.SUBMITTED,
        visma_type=order_type,
        visma_number=number,
        submitted_at=now,
        next_attempt_at=None,
        last_error="",
        last_error_status=None,
        last_error_request_id="",
        last_error_details={},
    )
    previous, had_trouble = order.state, bool(order.last_error or order.last_error_details)
    if not settled:
        order.refresh_from_db()
        return order
    order.state, order.visma_type, order.visma_number, order.submitted_at = State.SUBMITTED, order_type, number, now
    order.next_attempt_at, order.last_error, order.last_error_status = None, "", None
    order.last_error_request_id, order.last_error_details = "", {}
    record_update(order, {"state": (previous, State.SUBMITTED), "visma_number": ("", f"{order_type} {number}")})
    if had_trouble:  # only an order that failed or waited before can have an incident to close
        notifications.order_settled(order)
    return order


def _requeue(
    order: SalesOrder, exc: VismaError, *, delay: int | None = None, count_attempt: bool = True, then: str = ""
):
    if count_attempt and order.attempts >= settings.ORDER_MAX_ATTEMPTS:
        return _fail(order, VismaError(f"Gave up after {order.attempts} attempts. {exc}."))
    wait = delay if delay is not None else _backoff(order.attempts)
    when = timezone.now() + timedelta(seconds=wait)
    requeued = SalesOrder.objects.filter(pk=order.pk, state=State.SUBMITTING).update(
        state=State.QUEUED,
        next_attempt_at=when,
        attempts=F("attempts") if count_attempt else F("attempts") - 1,
        last_error=f"{exc}; {then}." if then else str(exc),
    )
    if requeued:  # sent again when its time comes, not at the sweeper's next pass
        transaction.on_commit(lambda: wakeups.enqueue_at(order.pk, when), robust=True)
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


def _settle(post: SubmissionAttempt, outcome: str, started: float, exc, status=None, request_id=None) -> None:
    """The POST's timeline row, written before it was sent, gets its outcome."""
    post.outcome = outcome
    post.duration_ms = int((time.monotonic() - started) * 1000)
    post.status = status if exc is None else exc.status
    post.request_id = (request_id if exc is None else exc.request_id) or ""
    post.message = "" if exc is None else str(exc)[:2000]
    post.save(update_fields=["outcome", "duration_ms", "status", "request_id", "message"])


def _log(order, kind, outcome, started, exc, status=None, request_id=None) -> None:
    """One line of the order's timeline; `started` is when the call began (time.monotonic)."""
    duration = time.monotonic() - started
    SubmissionAttempt.objects.create(
        order=order,
        kind=kind,
        outcome=outcome,
        started_at=timezone.now() - timedelta(seconds=duration),
        customer_number=order.customer.number if kind == "post" else "",
        duration_ms=int(duration * 1000),
        status=status if exc is None else exc.status,
        request_id=(request_id if exc is None else exc.request_id) or "",
        message="" if exc is None else str(exc)[:2000],
    )
