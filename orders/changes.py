"""Changing an order Visma has: hold, release, cancel, its details, its lines. Exactly once, never over a change
someone made in Visma meanwhile.

Every change carries the ETag of the version staff saw as If-Match, so Visma refuses it (412) when the order changed
since; the portal then re-reads the order and shows staff what Visma has now next to what they wanted. A change is
queued and sent by a worker that claims it with one conditional UPDATE, like an order's POST. When Visma's answer is
lost the order is read before anything is sent again: a PATCH that shows in Visma is applied; one that does not, with
the ETag unchanged, can be sent again with the same If-Match (a late first one makes the repeat a 412). Adding lines
has no If-Match protection in Visma's API, and Visma may add them any time after the answer was lost, so lines that
may have been added are never sent again: they are looked for until ORDER_RESEND_AFTER_SECONDS after the lost send,
and then the change fails with what staff should check in Visma.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.audit import record_update
from core.exact_json import plain
from tenants import api_log
from tenants.visma import (
    NotFound,
    OutcomeUnknown,
    RateLimited,
    VersionConflict,
    VersionMissing,
    VismaClient,
    VismaError,
    VismaUnavailable,
)

from . import refresh, services, timeline, visma_status
from .models import OrderChange, SalesOrder
from .numbers import decimal_or_none

logger = logging.getLogger(__name__)
Kind = OrderChange.Kind
State = OrderChange.State

CLOSED_STATUSES = ("Shipping", "Completed", "Cancelled")  # Visma takes no more changes
# Visma documents changes (and cancelling) only from these; in any other word (CreditHold, Invoiced, one the portal
# has never seen) nothing is offered, rather than a change Visma may refuse or take in a way nobody expected.
CHANGEABLE_STATUSES = ("Open", "Hold", "BackOrder")
STATUS_WANTED = {Kind.HOLD: "Hold", Kind.RELEASE: "Open", Kind.CANCEL: "Cancelled"}
ONLY_FROM = {Kind.HOLD: "Open", Kind.RELEASE: "Hold"}
LINE_KINDS = (Kind.ADD_LINES, Kind.CHANGE_LINES)
READ_EXPAND = ("Shipping", "Note")  # Visma leaves the note out unless asked for
EDIT_FIELDS = {"description": "description", "note": "note", "request_on": "requestOn"}

# What staff are told each change does, before they confirm it.
EFFECTS = {
    Kind.HOLD: "Visma keeps the order from being processed (picked, shipped, invoiced) until it is released.",
    Kind.RELEASE: "Visma takes the order off hold, so it can be picked, shipped and invoiced again.",
    Kind.CANCEL: "Visma cancels the order: it will not be shipped or invoiced, and it cannot be reopened from here.",
}


class ChangeRefused(Exception):
    """The change was not queued; the message says why, for staff."""


# --- asking for a change ------------------------------------------------------------------------------------------
def allowed_kinds(order: SalesOrder) -> list[str]:
    """The changes Visma takes for the order in its status as last read (none before the status is known)."""
    if order.state != SalesOrder.State.SUBMITTED or not order.visma_number or not order.visma_status:
        return []
    if order.visma_status not in CHANGEABLE_STATUSES:
        return []
    return [kind for kind in Kind.values if ONLY_FROM.get(kind, order.visma_status) == order.visma_status]


def open_change(order: SalesOrder) -> OrderChange | None:
    return order.changes.filter(state__in=(State.QUEUED, State.SENDING)).first()


def request_change(
    order: SalesOrder, kind: str, wanted=None, user=None, *, seen_version: str | None = None
) -> OrderChange:
    """Queue a change of the order in Visma, sent after commit by a worker. `wanted`: the new details (edit: a dict
    of description/note/request_on), the lines to add (dicts of inventory_id, quantity, unit_price, description) or
    the lines to change (dicts of line_id and the new quantity/unit_price/description). `seen_version`: the ETag the
    page staff acted on carried ("" when the page knew none); when it is not the version the portal has now (read
    since, or a value the page never had), nothing is queued. None: no page, the portal's version is the one."""
    if kind not in Kind.values:
        raise ChangeRefused("There is no such change.")
    if order.state != SalesOrder.State.SUBMITTED or not order.visma_number:
        raise ChangeRefused("The order is not in Visma yet, so there is nothing to change there.")
    if blocker := services.send_blocker(order):
        raise ChangeRefused(blocker)
    if seen_version is not None and seen_version != order.visma_etag:
        raise ChangeRefused(
            "The order was read from Visma again since this page was opened, and Visma's version differs. Look at "
            "what Visma has now and make the change again."
        )
    if open_change(order) is not None:
        raise ChangeRefused(OPEN_CHANGE)
    if not order.visma_etag or not order.visma_status:
        read_now(order, user)
    _refuse_unless_allowed(order, kind)
    body = build_body(order, kind, wanted)
    return _queue(order, kind, body, order.visma_etag, user)


OPEN_CHANGE = "Another change of this order is still being sent to Visma; wait until it is done."


def try_again(change: OrderChange, user=None) -> OrderChange:
    """A change Visma refused because the order changed meanwhile, asked for again on the version staff were shown
    beside it: should Visma have changed the order again since (even when the portal has read that newer version),
    Visma refuses it and staff are shown the newer version, never a change over what they did not see."""
    order = change.order
    if change.state != State.CONFLICT or change.finished_at is not None:
        raise ChangeRefused("This change is not waiting for a decision.")
    if order.state != SalesOrder.State.SUBMITTED or not order.visma_number:
        raise ChangeRefused("The order is not in Visma.")
    if blocker := services.send_blocker(order):
        raise ChangeRefused(blocker)
    if open_change(order) is not None:
        raise ChangeRefused(OPEN_CHANGE)
    if not order.visma_etag:
        read_now(order, user)
    _refuse_unless_allowed(order, change.kind)
    with transaction.atomic():
        if not _decide(change, user):
            raise ChangeRefused("This change is not waiting for a decision.")
        return _queue(order, change.kind, change.body, shown_version(change) or order.visma_etag, user, again=True)


def shown_version(change: OrderChange) -> str:
    """The version of Visma's order shown beside a conflict ("" when it could not be read)."""
    etag = change.conflict.get("etag") if isinstance(change.conflict, dict) else None
    return etag if isinstance(etag, str) else ""


def drop(change: OrderChange, user=None) -> bool:
    """Staff leave Visma's version as it is: the change that met it is closed, nothing is sent."""
    dropped = _decide(change, user)
    if dropped:
        timeline.record_change(change, "dropped", describe(change), actor=user)
    return dropped


def _decide(change: OrderChange, user) -> bool:
    """Close a change that met another version in Visma, once: tried again or dropped."""
    now = timezone.now()
    decided = OrderChange.objects.filter(pk=change.pk, state=State.CONFLICT, finished_at=None).update(finished_at=now)
    if decided:
        record_update(change, {"finished_at": (None, now)}, actor=user)
    return bool(decided)


def _refuse_unless_allowed(order: SalesOrder, kind: str) -> None:
    """Refused in the words staff read on the page ("on hold", "credit hold"), never Visma's codes ("CreditHold")."""
    status = order.visma_status
    said = visma_status.words(status).lower() or "unknown"
    if status in CLOSED_STATUSES:
        raise ChangeRefused(f"Visma has the order as {said}: it takes no more changes.")
    if status not in CHANGEABLE_STATUSES:
        raise ChangeRefused(
            f"Visma has the order as {said}. The portal changes an order only while Visma has it open, on hold or "
            "back-ordered; change it in Visma."
        )
    if kind in ONLY_FROM and ONLY_FROM[kind] != status:
        needed = visma_status.words(ONLY_FROM[kind]).lower()
        raise ChangeRefused(f"Visma has the order as {said}; it can only be {_verb(kind)} when it is {needed}.")


def _verb(kind: str) -> str:
    return {Kind.HOLD: "put on hold", Kind.RELEASE: "released"}.get(kind, "changed")


def _queue(order, kind, body, if_match, user, *, again: bool = False) -> OrderChange:
    try:
        with transaction.atomic():
            change = OrderChange.objects.create(
                order=order, kind=kind, body=body, if_match=if_match, created_by=user, next_attempt_at=timezone.now()
            )
    except IntegrityError:  # another request queued one between the check and the insert
        raise ChangeRefused(OPEN_CHANGE) from None
    timeline.record_change(change, "tried again" if again else "requested", describe(change))
    transaction.on_commit(lambda: enqueue(change.pk), robust=True)
    return change


def enqueue(change_id: int) -> None:
    from django_q.tasks import async_task

    async_task(
        "orders.tasks.apply_order_change",
        change_id,
        task_name=f"order-change-{change_id}",
        group="order-changes",
        save=False,
    )


def read_now(order: SalesOrder, user=None) -> None:
    """Read the order from Visma for staff waiting on the page: its version, status and lines ("Refresh now")."""
    if problem := refresh.refresh_order(order, user):
        raise ChangeRefused(f"The order could not be read from Visma just now: {problem}")


# --- the bodies Visma gets ----------------------------------------------------------------------------------------
def build_body(order: SalesOrder, kind: str, wanted) -> dict:
    if kind in STATUS_WANTED:
        return {"status": STATUS_WANTED[kind]}  # Visma takes no other field with a status
    if kind == Kind.EDIT:
        return _edit_body(order, wanted or {})
    if kind == Kind.ADD_LINES:
        lines = [_new_line(line) for line in wanted or []]
        if not lines:
            raise ChangeRefused("Give at least one line to add.")
        return {"lines": lines}
    return {"lines": _changed_lines(order, wanted or [])}


def _edit_body(order: SalesOrder, wanted: dict) -> dict:
    body = {}
    for name, field in EDIT_FIELDS.items():
        if name not in wanted:
            continue
        new, old = wanted[name], getattr(order, name)
        if name == "request_on":
            if new is None or new == old:
                continue
            body[field] = _date_time(new)
        elif (new or "") != (old or ""):
            body[field] = new or ""
    if not body:
        raise ChangeRefused("Nothing was changed: the description, note and requested date are as they were.")
    return body


def _date_time(day: date) -> str:
    """A date as Visma's date-time fields take it: midnight, no offset."""
    return f"{day.isoformat()}T00:00:00"


def _new_line(line: dict) -> dict:
    """NewSalesOrderLineDto, written as the order's POST writes its lines."""
    data: dict = {"inventoryId": line["inventory_id"], "quantity": line["quantity"]}
    if line.get("unit_price") is not None:
        data["unitPrice"] = line["unit_price"]
        data["hasManualPrice"] = True
    if line.get("description"):
        data["description"] = line["description"]
    return data


def _changed_lines(order: SalesOrder, wanted: list[dict]) -> list[dict]:
    """PatchSalesOrderLineDto for each line of Visma's whose quantity, price or description staff changed."""
    current = {line["lineId"]: line for line in visma_lines(order)}
    lines = []
    for line in wanted:
        have = current.get(line["line_id"])
        if have is None:
            raise ChangeRefused(f"Line {line['line_id']} is not a line of this order in Visma.")
        patch: dict = {}
        if line.get("quantity") is not None and decimal_or_none(line["quantity"]) != decimal_or_none(have["quantity"]):
            patch["quantity"] = line["quantity"]
        if line.get("unit_price") is not None and decimal_or_none(line["unit_price"]) != decimal_or_none(
            have["unitPrice"]
        ):
            patch["unitPrice"] = line["unit_price"]
            patch["hasManualPrice"] = True
        if "description" in line and (line["description"] or "") != (have["description"] or ""):
            patch["description"] = line["description"] or ""
        if patch:
            lines.append({"lineId": have["lineId"], **patch})
    if not lines:
        raise ChangeRefused("Nothing was changed: every line's quantity, price and description are as they were.")
    return lines


def visma_lines(order: SalesOrder) -> list[dict]:
    """Visma's lines of the order as last read: lineId, inventoryId, description, quantity, unitPrice."""
    return [_line_row(line) for line in order.visma_lines or [] if isinstance(line, dict)]


def _line_row(line: dict) -> dict:
    """One of Visma's lines as the portal keeps them (`refresh.line_fields`), with every key a change reads."""
    return {
        "lineId": line.get("lineId"),
        "inventoryId": line.get("inventoryId") or "",
        "description": line.get("description") or "",
        "quantity": line.get("quantity"),
        "unitPrice": line.get("unitPrice"),
    }


def describe(change: OrderChange) -> str:
    """The change in a few words, for the timeline and the list of changes."""
    body = change.body or {}
    if change.kind in STATUS_WANTED:
        return change.get_kind_display()
    if change.kind == Kind.EDIT:
        names = {"description": "description", "note": "note", "requestOn": "requested date"}
        return "Change " + ", ".join(names[key] for key in body if key in names)
    if change.kind == Kind.ADD_LINES:
        items = ", ".join(f"{line.get('inventoryId')} x {_shown(line.get('quantity'))}" for line in body["lines"])
        return f"Add {_lines(len(body['lines']))}: {items}"
    return f"Change {_lines(len(body.get('lines') or []))}"


def _lines(count: int) -> str:
    return f"{count} line{'s' if count != 1 else ''}"


def _shown(value) -> str:
    number = decimal_or_none(value)
    return plain(number) if number is not None else str(value)


# --- sending it ---------------------------------------------------------------------------------------------------
def apply_change(change_id: int) -> OrderChange | None:
    """Send one queued, due change to Visma, exactly once; a change whose last send lost its answer is looked up
    in Visma first. None when it was not due or another worker has it."""
    change = _read_due(change_id)
    if change is None:
        return None
    order = change.order
    looking = change.outcome_unknown_at is not None
    if blocker := services.send_blocker(order):
        if not _claim(change, sends=False):
            return None
        return _fail(change, VismaError(f"Not sent: {blocker}"))
    with api_log.context(f"order {order.reference}"):  # the client logs its calls under the scope it is made in
        client = VismaClient(order.tenant, budget=settings.ORDER_TASK_BUDGET_SECONDS)
        return _claim_and_send(change, client, looking)


def _claim_and_send(change: OrderChange, client: VismaClient, looking: bool) -> OrderChange | None:
    known = None
    if change.kind == Kind.ADD_LINES and not looking:
        # The lines Visma has before ours go out: after a lost answer, lines that are not among them may be ours.
        try:
            known = [line.get("lineId") for line in client.get_sales_order_lines(*_key(change.order))]
        except NotFound as exc:
            return _fail(change, _gone(exc)) if _claim(change, sends=False) else None
        except VismaError as exc:
            return _wait(change, exc)
    if not _claim(change, sends=not looking, known_line_ids=known):
        return None
    if looking:
        return _after_lost_answer(change, client, sent=False)
    return _send(change, client)


def _read_due(change_id: int) -> OrderChange | None:
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    found = OrderChange.objects.select_related("order__tenant__application", "order__customer", "created_by").filter(
        due, pk=change_id, state=State.QUEUED
    )
    return found.first()


def _claim(change: OrderChange, *, sends: bool, known_line_ids: list | None = None) -> bool:
    """queued -> sending, if nobody claimed it since it was read (every claim moves attempt_started_at). `sends`:
    this run sends it right away, so the attempt is counted in the same UPDATE."""
    now = timezone.now()
    started = (
        Q(attempt_started_at=change.attempt_started_at) if change.attempt_started_at else Q(attempt_started_at=None)
    )
    fields: dict = {"state": State.SENDING, "attempt_started_at": now, "next_attempt_at": None}
    if sends:
        fields["attempts"] = F("attempts") + 1
    if known_line_ids is not None:
        fields["known_line_ids"] = known_line_ids
    claimed = OrderChange.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now), started, pk=change.pk, state=State.QUEUED
    ).update(**fields)
    if claimed:
        change.state, change.attempt_started_at, change.next_attempt_at = State.SENDING, now, None
        change.attempts += 1 if sends else 0
        if known_line_ids is not None:
            change.known_line_ids = known_line_ids
    return bool(claimed)


def _send(change: OrderChange, client: VismaClient) -> OrderChange:
    """One send with If-Match; the attempt is already counted."""
    order = change.order
    sent_at = timezone.now()
    try:
        etag = _call(change, client)
    except VersionConflict as exc:
        if change.outcome_unknown_at is not None:  # maybe our own earlier send, committed late: look
            return _settle_by_looking(change, client, exc)
        return _conflict(change, client, exc)
    except VersionMissing as exc:
        logger.error("Order change %s of %s was sent without If-Match (Visma answered 428)", change.pk, order)
        return _fail(change, exc)
    except OutcomeUnknown as exc:
        OrderChange.objects.filter(pk=change.pk).update(outcome_unknown_at=sent_at, request_id=exc.request_id or "")
        change.outcome_unknown_at = sent_at
        timeline.record_change(change, "answer lost", f"{describe(change)}: {exc}", status=exc.status)
        return _after_lost_answer(change, client, sent=True)
    except RateLimited as exc:  # also Throttled: nothing was done
        return _requeue(change, str(exc), delay=exc.retry_after, give_back=True)
    except VismaUnavailable as exc:
        return _requeue(change, str(exc), give_back=True)
    except VismaError as exc:
        return _fail(change, exc)
    return _applied(change, client, etag=etag)


def _call(change: OrderChange, client: VismaClient) -> str:
    order_type, number = _key(change.order)
    if change.kind == Kind.ADD_LINES:
        return client.add_sales_order_lines(order_type, number, change.body["lines"], change.if_match)
    if change.kind == Kind.CHANGE_LINES:
        return client.patch_sales_order_lines(order_type, number, change.body["lines"], change.if_match)
    return client.patch_sales_order(order_type, number, change.body, change.if_match)


def _gone(exc: NotFound) -> VismaError:
    """The order is not in Visma any more (deleted there): nothing can be changed or looked for again."""
    message = f"Visma no longer has the order (was it deleted in Visma?), so the change cannot be made. {exc}"
    return VismaError(message, status=exc.status, request_id=exc.request_id)


def _key(order: SalesOrder) -> tuple[str, str]:
    return order.visma_type or order.order_type, order.visma_number


# --- after a lost answer ------------------------------------------------------------------------------------------
APPLIED, CHANGED, ABSENT = "applied", "changed", "absent"


def _after_lost_answer(change: OrderChange, client: VismaClient, *, sent: bool) -> OrderChange:
    """Read the order, then: applied, a conflict, look again later (lines), or send again. `sent`: this run's
    send lost its answer (its attempt stays counted); otherwise this run came to look first and counted nothing."""
    try:
        verdict, read = _look(change, client)
    except NotFound as exc:
        return _fail(change, _gone(exc))
    except VismaError as exc:  # looked for again later; a look never uses up the change's attempts
        delay = exc.retry_after if isinstance(exc, RateLimited) else services._backoff(change.attempts)
        message = f"Visma's answer was lost and the order could not be read to see whether it took the change ({exc})"
        return _back_to_queue(change, timezone.now() + timedelta(seconds=delay), message, give_back=False)
    if verdict == APPLIED:
        return _applied(change, client, read=read)
    if verdict == CHANGED:
        return _conflict(change, client, None, read=read)
    if change.kind == Kind.ADD_LINES:
        stop_at = change.outcome_unknown_at + timedelta(seconds=settings.ORDER_RESEND_AFTER_SECONDS)
        if stop_at > timezone.now():
            return _look_again_later(change, stop_at)
        return _fail(change, VismaError(LINES_NOT_SENT_AGAIN))
    if sent:  # the ETag is still the one sent: nothing happened yet, and the same If-Match keeps a repeat safe
        return _requeue(change, "Visma's answer was lost and the order is unchanged in Visma; sending it again")
    if change.attempts >= settings.ORDER_MAX_ATTEMPTS:
        gave_up = f"Gave up after {change.attempts} attempts: Visma did not confirm the change and the order lacks it."
        return _fail(change, VismaError(gave_up))
    OrderChange.objects.filter(pk=change.pk).update(attempts=F("attempts") + 1)
    change.attempts += 1
    return _send(change, client)


# POST lines has no version check in Visma: a repeat cannot be refused when a first one that lost its answer is
# still on its way, however late, so lines are never sent twice; staff decide with Visma's order in front of them.
LINES_NOT_SENT_AGAIN = (
    "Visma's answer was lost and the lines were still not on the order in Visma when the portal stopped looking. They "
    "were not sent again: Visma adds lines without checking the order's version, so lines it is still adding would be "
    "there twice. Read the order from Visma (Refresh now) and add them again only if they are missing."
)


def _settle_by_looking(change: OrderChange, client: VismaClient, conflict: VersionConflict) -> OrderChange:
    """A 412 after an earlier send lost its answer: that send may have made it. Applied if Visma shows it."""
    try:
        verdict, read = _look(change, client)
    except VismaError:
        return _conflict(change, client, conflict)
    if verdict == APPLIED:
        return _applied(change, client, read=read)
    return _conflict(change, client, conflict, read=read)


def _look(change: OrderChange, client: VismaClient) -> tuple[str, Read]:
    """What Visma's order says of the change: APPLIED, CHANGED (someone else changed it), or ABSENT."""
    read = _read(client, change.order, with_lines=change.kind in LINE_KINDS)
    timeline.record_change(change, "looked up", describe(change))
    shown = read.shown
    if change.kind == Kind.ADD_LINES:
        matched = _our_new_lines(change, shown["lines"])
        if matched == len(change.body["lines"]):
            return APPLIED, read
        return (CHANGED if matched else ABSENT), read
    if shows_wanted(change, shown):
        return APPLIED, read
    if not shown["etag"] or shown["etag"] == change.if_match:
        return ABSENT, read
    return CHANGED, read


def shows_wanted(change: OrderChange, snapshot: dict) -> bool:
    """Whether Visma's order (as read into `snapshot`) has what the change asked for."""
    body = change.body
    if change.kind in STATUS_WANTED:
        return snapshot["status"] == body["status"]
    if change.kind == Kind.EDIT:
        for field in ("description", "note"):
            if field in body and (snapshot[field] or "") != (body[field] or ""):
                return False
        return "requestOn" not in body or snapshot["requestOn"] == body["requestOn"][:10]
    if change.kind == Kind.CHANGE_LINES:
        lines = {line["lineId"]: line for line in snapshot.get("lines") or []}
        for wanted in body["lines"]:
            have = lines.get(wanted["lineId"])
            if have is None:
                return False
            for field in ("quantity", "unitPrice"):
                if field in wanted and decimal_or_none(wanted[field]) != decimal_or_none(have[field]):
                    return False
            if "description" in wanted and (wanted["description"] or "") != (have["description"] or ""):
                return False
        return True
    return _our_new_lines(change, snapshot.get("lines") or []) == len(body["lines"])


def _our_new_lines(change: OrderChange, lines: list[dict]) -> int:
    """How many of the lines the change adds are on the order among lines Visma did not have before it was sent,
    matched by item and quantity, each new line counted once."""
    known = set(change.known_line_ids or [])
    new = [line for line in lines if line["lineId"] not in known]
    matched = 0
    for ours in change.body["lines"]:
        hit = next(
            (
                line
                for line in new
                if line["inventoryId"] == ours["inventoryId"]
                and decimal_or_none(line["quantity"]) == decimal_or_none(ours["quantity"])
            ),
            None,
        )
        if hit is not None:
            new.remove(hit)
            matched += 1
    return matched


def _look_again_later(change: OrderChange, stop_at: datetime) -> OrderChange:
    """The lines are not in Visma yet: look again, sooner at first, until `stop_at`."""
    now = timezone.now()
    sent_ago = (now - change.outcome_unknown_at).total_seconds()
    delay = min(max(settings.ORDER_BACKOFF_SECONDS, sent_ago / 2), (stop_at - now).total_seconds())
    next_look = now + timedelta(seconds=max(1.0, delay))
    message = (
        f"Visma's answer was lost and the lines are not on the order in Visma yet. Looking again at "
        f"{timezone.localtime(next_look):%H:%M:%S}, until {timezone.localtime(stop_at):%H:%M:%S}; they are never "
        "sent again, in case Visma is still adding them."
    )
    return _back_to_queue(change, next_look, message, give_back=False)


# --- outcomes -----------------------------------------------------------------------------------------------------
def _applied(change: OrderChange, client: VismaClient, *, etag: str = "", read: Read | None = None) -> OrderChange:
    """Visma made the change: the order's Visma fields are read again (the new version among them)."""
    order = change.order
    if read is None:
        try:
            read = _read(client, order, with_lines=change.kind in LINE_KINDS)
        except VismaError as exc:
            logger.info("Order %s could not be read after change %s: %s", order, change.pk, exc)
    finished = _finish(change, State.APPLIED, last_error="", last_error_status=None)
    if not finished:
        return change
    before = order.visma_status
    updates = _edited_fields(order, change.body) if change.kind == Kind.EDIT else {}  # before the read overwrites them
    if read is not None:
        _remember(order, read)
    else:  # Visma's new version, or none: the one the change was sent with is no longer Visma's (read it next time)
        SalesOrder.objects.filter(pk=order.pk).update(visma_etag=etag)
        order.visma_etag = etag
    if order.visma_status != before:
        updates["visma_status"] = (before, order.visma_status)
    if updates:
        record_update(order, updates, actor=change.created_by)
    timeline.record_change(change, "applied", describe(change), status=202 if etag else None)
    return change


def _edited_fields(order: SalesOrder, body: dict) -> dict:
    """The portal's copy of the details follows what Visma now has; returns what changed, for the audit trail."""
    changed = {}
    for name, field in EDIT_FIELDS.items():
        if field not in body:
            continue
        new = date.fromisoformat(body[field][:10]) if name == "request_on" else body[field]
        old = getattr(order, name)
        if new != old:
            changed[name] = (old, new)
            setattr(order, name, new)
    if changed:
        SalesOrder.objects.filter(pk=order.pk).update(**{name: new for name, (_, new) in changed.items()})
    return changed


def _conflict(change: OrderChange, client: VismaClient, exc: VismaError | None, *, read: Read | None = None):
    """The order changed in Visma since staff saw it: read what it has now and show it; nothing is overwritten."""
    if read is None or "lines" not in read.shown:
        try:
            read = _read(client, change.order, with_lines=True)
        except VismaError as read_error:
            logger.info("Order %s could not be read after a conflict: %s", change.order, read_error)
    shown = None
    if read is not None:
        _remember(change.order, read)
        shown = read.shown
    message = str(exc) if exc else "The order was changed in Visma since the portal last read it; nothing was changed."
    updated = OrderChange.objects.filter(pk=change.pk, state=State.SENDING).update(
        state=State.CONFLICT,
        conflict=shown,
        last_error=message,
        last_error_status=exc.status if exc else None,
        request_id=(exc.request_id if exc else "") or "",
        next_attempt_at=None,
    )
    change.refresh_from_db()
    if updated:
        record_update(change, {"state": (State.SENDING, State.CONFLICT)})
        timeline.record_change(change, "conflict", f"{describe(change)}: {message}", status=412 if exc else None)
    return change


def _fail(change: OrderChange, exc: VismaError) -> OrderChange:
    message = str(exc)
    if exc.field_errors:
        message += " " + "; ".join(
            f"{field}: {' '.join(map(str, errors))}" for field, errors in exc.field_errors.items()
        )
    elif exc.details:
        message += " " + "; ".join(str(d.get("message", d)) if isinstance(d, dict) else str(d) for d in exc.details)
    if _finish(change, State.FAILED, last_error=message, last_error_status=exc.status, request_id=exc.request_id or ""):
        timeline.record_change(change, "failed", f"{describe(change)}: {message}", status=exc.status)
    return change


def _finish(change: OrderChange, state: str, **fields) -> bool:
    now = timezone.now()
    finished = OrderChange.objects.filter(pk=change.pk, state=State.SENDING).update(
        state=state, finished_at=now, next_attempt_at=None, **fields
    )
    change.refresh_from_db()
    if finished:
        record_update(change, {"state": (State.SENDING, state)})
    return bool(finished)


def _requeue(change: OrderChange, message: str, *, delay: int | None = None, give_back: bool = False):
    """Back to the queue for a later attempt. `give_back`: nothing was sent, so the attempt is not used."""
    if not give_back and change.attempts >= settings.ORDER_MAX_ATTEMPTS:
        return _fail(change, VismaError(f"Gave up after {change.attempts} attempts. {message}."))
    wait = delay if delay is not None else services._backoff(change.attempts)
    return _back_to_queue(change, timezone.now() + timedelta(seconds=wait), message, give_back=give_back)


def _back_to_queue(change: OrderChange, when: datetime, message: str, *, give_back: bool) -> OrderChange:
    OrderChange.objects.filter(pk=change.pk, state=State.SENDING).update(
        state=State.QUEUED,
        next_attempt_at=when,
        attempts=F("attempts") - 1 if give_back else F("attempts"),
        last_error=message,
    )
    change.refresh_from_db()
    return change


def _wait(change: OrderChange, exc: VismaError) -> OrderChange:
    """Visma could not be asked before anything was sent: the change waits, still queued, unclaimed."""
    delay = exc.retry_after if isinstance(exc, RateLimited) else services._backoff(max(1, change.attempts))
    OrderChange.objects.filter(pk=change.pk, state=State.QUEUED).update(
        next_attempt_at=timezone.now() + timedelta(seconds=delay), last_error=str(exc)
    )
    change.refresh_from_db()
    return change


# --- reading Visma's order ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Read:
    """Visma's order as just read: `shown` is what staff see of it beside a change (kept as JSON with a conflict,
    numbers as exact text), `fields` the order's Visma fields (as `orders.refresh` writes them)."""

    shown: dict
    fields: dict


def _read(client: VismaClient, order: SalesOrder, *, with_lines: bool) -> Read:
    remote = client.get_sales_order(*_key(order), expand=READ_EXPAND)
    lines = client.get_sales_order_lines(*_key(order)) if with_lines else None
    fields = {**refresh.order_fields(remote.order), "visma_etag": remote.etag}
    shown = {
        "etag": remote.etag,
        "status": fields["visma_status"],
        "description": fields.get("description", ""),
        "note": fields.get("note", ""),
        "requestOn": fields["request_on"].isoformat() if fields.get("request_on") else "",
    }
    if lines is not None:
        shown["lines"] = fields["visma_lines"] = [refresh.line_fields(line) for line in lines]
        fields["visma_lines_read_for"] = fields["visma_last_modified"]
    return Read(shown, fields)


def _remember(order: SalesOrder, read: Read) -> None:
    """The order's Visma fields from a fresh read; closed from the first time Visma has it completed or cancelled."""
    fields = {**read.fields, "visma_refreshed_at": timezone.now()}
    if not visma_status.is_closed(fields["visma_status"]):
        fields["visma_closed_at"] = None
    elif order.visma_closed_at is None:
        fields["visma_closed_at"] = fields["visma_refreshed_at"]
    current = refresh.no_newer_than(fields["visma_last_modified"])
    if not SalesOrder.objects.filter(current, pk=order.pk).update(**fields):
        order.refresh_from_db(fields=list(fields))  # a newer version was written while this read was answered
        return
    for name, value in fields.items():
        setattr(order, name, value)


# --- the sweeper --------------------------------------------------------------------------------------------------
@dataclass
class SweepResult:
    enqueued: int = 0
    looked_up: int = 0

    def __str__(self) -> str:
        return f"{self.enqueued} changes enqueued, {self.looked_up} looked up after a stopped worker"


def sweep() -> str:
    """Every minute, from the orders' sweeper: changes stuck in sending past the task timeout (a worker stopped,
    perhaps mid-request) are looked up in Visma before anything is sent again; due queued changes are enqueued."""
    result = SweepResult()
    now = timezone.now()
    stale = now - timedelta(seconds=settings.Q_CLUSTER["timeout"] + 30)
    for change in OrderChange.objects.filter(state=State.SENDING, attempt_started_at__lt=stale)[:100]:
        unknown_since = max(filter(None, [change.outcome_unknown_at, change.attempt_started_at]))
        moved = OrderChange.objects.filter(
            pk=change.pk, state=State.SENDING, attempt_started_at=change.attempt_started_at
        ).update(
            state=State.QUEUED,
            next_attempt_at=now,
            outcome_unknown_at=unknown_since,
            last_error="The worker stopped before Visma answered; the order is read in Visma before anything is "
            "sent again.",
        )
        result.looked_up += moved
    due = OrderChange.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now), state=State.QUEUED
    ).order_by("next_attempt_at", "pk")
    for change_id in list(due.values_list("pk", flat=True)[:500]):
        enqueue(change_id)
        result.enqueued += 1
    return str(result)
