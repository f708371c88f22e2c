"""Following orders after Visma has them: per tenant, one paged list of the orders Visma changed since the last look.

A run asks `GET /api/v3/SalesOrders?modifiedSince=<watermark>&orderBy=created asc`. Creation times never change, so
an order changed while the run pages stays where it was: nothing is skipped, and an order that shows up twice (a
page boundary moved) is kept once. Each row is matched to the tenant's submitted order of that type and number, or,
for an order whose POST lost its answer, by our reference in `customerRefNo`: that order is marked submitted with
Visma's number and never sent again. The watermark is the newest `lastModified` read, by Visma's clock, and moves
only after a complete walk, never past Visma's time when the walk began (its `Date` header): an order changed while the
walk went on, or a `lastModified` written in another time zone without saying so, is read again by the next run.

Runs are background work: they wait for their turn in the tenant's rate budget and leave the second half of Visma's
window to order submission, trying again later instead (as the customer sync does).
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from core.money import format_money
from tenants import api_log, paging, staff_reads
from tenants.models import Tenant
from tenants.visma import RateLimited, ValidationRejected, VismaClient, VismaError, clock
from tenants.visma.remote_text import UNSTORABLE, clean

from . import services, visma_status
from .models import SalesOrder, SubmissionAttempt

logger = logging.getLogger(__name__)
State = SalesOrder.State

CONTEXT = "order refresh"  # the API log's label for a run's calls
PAGE_SIZE = 1000  # asked for first; Visma's refusals and short pages bring it down (tenants.paging)
ENDPOINT = "SalesOrders"  # the page size that worked is remembered per tenant under this name
OVERLAP = timedelta(minutes=1)  # read again before the watermark: an order saved just before it may commit later
DATE_RESOLUTION = timedelta(seconds=2)  # Visma's clock as its Date header tells it (whole seconds), well below OVERLAP
UNREAD_LOOKBACK = timedelta(
    hours=1
)  # a submitted order no run has read yet is looked for this long from its submission
CLOCK_RETRY = timedelta(seconds=60)  # a first run asked before Visma's clock was known starts again when this far off
LOCK_SECONDS = 15 * 60
WANTED_STALE = timedelta(minutes=15)  # a wish for a run this old whose run never came is wished again
CHUNK = 500  # orders per IN (...) and per bulk UPDATE
LOST = ("unknown", services.IN_FLIGHT)  # POST outcomes after which Visma may have the order
AWAITING = (State.QUEUED, State.SUBMITTING, State.FAILED)
MOST_REPEATED_PAGES = 2  # pages in a row that bring no order not read before: Visma is not paging, stop

REFRESHED, IDLE, BUSY, DEFERRED, FAILED = "refreshed", "idle", "busy", "deferred", "failed"
VISMA_FIELDS = [
    "visma_status",
    "visma_order_total",
    "visma_tax_total",
    "visma_currency",
    "visma_shipping_date",
    "visma_last_modified",
    "visma_refreshed_at",
    "visma_closed_at",
]


@dataclass
class Seen:
    """One portal order whose status or total in Visma changed (or that was found in Visma after a lost answer)."""

    reference: str
    label: str
    old_status: str
    new_status: str
    old_total: Decimal | None
    new_total: Decimal | None
    currency: str
    found: bool = False

    def describe(self) -> str:
        """ "VOP-… (SO 000123): Open → On hold, total NOK 250.00 → NOK 375.00" """
        parts = ["found in Visma after a lost answer, now submitted"] if self.found else []
        if self.old_status != self.new_status:
            old = visma_status.words(self.old_status) or "not read before"
            parts.append(f"{old} → {visma_status.words(self.new_status) or 'no status'}")
        if self.old_total != self.new_total:
            parts.append(f"total {self._money(self.old_total)} → {self._money(self.new_total)}")
        return f"{self.reference} ({self.label}): {', '.join(parts)}"

    def _money(self, amount: Decimal | None) -> str:
        return "none" if amount is None else format_money(amount, self.currency)


@dataclass
class RefreshResult:
    tenant: Tenant
    outcome: str = REFRESHED
    calls: int = 0  # list requests sent (refused ones included)
    read: int = 0  # distinct orders Visma listed
    updated: int = 0  # portal orders written
    changed: list[Seen] = field(default_factory=list)
    error: str = ""
    note: str = ""  # how paging adapted
    retry_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (REFRESHED, IDLE)

    def summary(self) -> str:
        if self.outcome == IDLE:
            return "no orders to follow; no call made"
        if self.outcome == BUSY:
            return "another refresh of this tenant is running"
        if self.outcome in (DEFERRED, FAILED):
            return self.error
        changed = f"{len(self.changed)} order{'s' if len(self.changed) != 1 else ''} changed"
        calls = f"{self.calls} list call{'s' if self.calls != 1 else ''}"
        return " ".join(part for part in (f"{changed}; {self.read} read in {calls}.", self.note) if part)


class _Deferred(Exception):
    def __init__(self, wait: float, reason: str):
        super().__init__(reason)
        self.wait, self.reason = wait, reason


# --- which tenants and orders -----------------------------------------------------------------------------------------
def followed(now: datetime | None = None) -> Q:
    """Orders Visma has and the portal still follows: submitted, numbered, and not closed in Visma long ago."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ORDER_REFRESH_DAYS)
    still_open = Q(visma_closed_at__isnull=True) | Q(visma_closed_at__gte=cutoff)
    return Q(state=State.SUBMITTED) & ~Q(visma_number="") & still_open


def is_followed(order: SalesOrder, now: datetime | None = None) -> bool:
    cutoff = (now or timezone.now()) - timedelta(days=settings.ORDER_REFRESH_DAYS)
    closed = order.visma_closed_at
    return order.state == State.SUBMITTED and bool(order.visma_number) and (closed is None or closed >= cutoff)


def _lost_posts(now: datetime) -> QuerySet:
    cutoff = now - timedelta(days=settings.ORDER_REFRESH_DAYS)
    return SubmissionAttempt.objects.filter(kind="post", outcome__in=LOST, started_at__gte=cutoff)


def awaiting(now: datetime | None = None) -> Q:
    """Orders not (yet) known as submitted whose POST lost its answer lately: Visma may have them anyway."""
    lost = _lost_posts(now or timezone.now()).filter(order=OuterRef("pk"))
    return Q(state__in=AWAITING) & Q(Exists(lost))


def tenants_to_refresh(application_id: int | None = None) -> QuerySet:
    """Tenants that may be read and have orders to follow (or to find after a lost answer): one query."""
    now = timezone.now()
    orders = SalesOrder.objects.filter(tenant=OuterRef("pk"))
    has_work = Exists(orders.filter(followed(now))) | Exists(orders.filter(awaiting(now)))
    tenants = Tenant.objects.filter(has_work, active=True, can_read=True, application__active=True)
    return tenants.filter(application_id=application_id) if application_id else tenants


def interval_minutes() -> int:
    return max(1, settings.ORDER_REFRESH_MINUTES)


def list_calls_per_hour() -> int:
    """The list calls one tenant's refresh makes an hour when every list fits one page (webhooks add a few)."""
    return math.ceil(60 / interval_minutes())


# --- runs -------------------------------------------------------------------------------------------------------------
def enqueue(tenant_pk: int) -> None:
    from django_q.tasks import async_task

    async_task(
        "orders.tasks.refresh_tenant_orders",
        tenant_pk,
        task_name=f"order-refresh-{tenant_pk}",
        group="order-refresh",
        save=False,
    )


def enqueue_all() -> int:
    """The schedule's fan-out: one run per tenant with orders to follow."""
    tenant_pks = list(tenants_to_refresh().values_list("pk", flat=True))
    for tenant_pk in tenant_pks:
        enqueue(tenant_pk)
    return len(tenant_pks)


def run_later(tenant_pk: int, seconds: float) -> datetime:
    """One run of the tenant in `seconds`: a one-off django-q2 schedule per tenant, so asking again only moves it."""
    from django_q.models import Schedule

    when = timezone.now() + timedelta(seconds=max(0.0, seconds))
    Schedule.objects.update_or_create(
        name=f"order-refresh-tenant-{tenant_pk}",
        defaults={
            "func": "orders.tasks.refresh_tenant_orders",
            "args": repr((tenant_pk,)),
            "kwargs": None,
            "schedule_type": Schedule.ONCE,
            "repeats": 1,
            "next_run": when,
        },
    )
    return when


def ask_for_refresh(tenant_pks: list[int], delay: float | None = None) -> list[int]:
    """A refresh of each tenant soon, however often asked: the first wish sets the tenant's flag (a conditional
    UPDATE) and schedules one run `delay` seconds later; wishes while the flag is set add nothing. The run clears the
    flag when it starts. Returns the tenants a run was scheduled for."""
    delay = settings.VISMA_WEBHOOK_DEBOUNCE_SECONDS if delay is None else delay
    now = timezone.now()
    not_wished = Q(orders_refresh_wanted_at__isnull=True) | Q(orders_refresh_wanted_at__lt=now - WANTED_STALE)
    scheduled = []
    for tenant_pk in tenant_pks:
        if Tenant.objects.filter(not_wished, pk=tenant_pk).update(orders_refresh_wanted_at=now):
            scheduled.append(tenant_pk)
            if delay > 0:
                run_later(tenant_pk, delay)
            else:
                transaction.on_commit(lambda tenant_pk=tenant_pk: enqueue(tenant_pk), robust=True)
    return scheduled


class _Lock:
    """One run per tenant at a time, across workers and hosts (the cache is shared)."""

    def __init__(self, tenant_pk: int):
        self.key, self.value = f"order-refresh-lock:{tenant_pk}", uuid.uuid4().hex

    def acquire(self) -> bool:
        return cache.add(self.key, self.value, timeout=LOCK_SECONDS)

    def release(self) -> None:
        if cache.get(self.key) == self.value:
            cache.delete(self.key)


def refresh_tenant(tenant: Tenant) -> RefreshResult:
    """One refresh of the tenant's orders; never raises for Visma's errors (the result and the tenant say them)."""
    result = RefreshResult(tenant=tenant)
    lock = _Lock(tenant.pk)
    if not lock.acquire():
        result.outcome = BUSY
        return result
    started = timezone.now()
    try:
        Tenant.objects.filter(pk=tenant.pk).update(orders_refresh_wanted_at=None)
        tenant = Tenant.objects.select_related("application").get(pk=tenant.pk)
        result.tenant = tenant
        _run(tenant, result)
    finally:
        lock.release()
        if Tenant.objects.filter(pk=tenant.pk, orders_refresh_wanted_at__gt=started).exists():
            run_later(tenant.pk, settings.VISMA_WEBHOOK_DEBOUNCE_SECONDS)  # asked for while this run went on
    logger.info("Order refresh of %s: %s", tenant.name, result.summary())
    return result


def _run(tenant: Tenant, result: RefreshResult) -> None:
    now = timezone.now()
    work = SalesOrder.objects.filter(tenant=tenant).filter(followed(now) | awaiting(now))
    readable = tenant.active and tenant.can_read and tenant.application.active
    if not readable or not work.exists():
        result.outcome = IDLE
        return
    # A run ends by itself before the task's timeout would stop its worker mid-walk (leaving the run's lock behind).
    client = VismaClient(tenant, budget=settings.ORDER_TASK_BUDGET_SECONDS)
    try:
        with api_log.context(CONTEXT):
            rows, began = _walk(client, tenant, result)
    except _Deferred as deferred:
        _defer(tenant, result, deferred.wait, deferred.reason)
        return
    except RateLimited as exc:  # Visma's 429, or the rate budget holding the call back (Throttled)
        _defer(tenant, result, exc.retry_after, str(exc))
        return
    except VismaError as exc:
        result.outcome, result.error = FAILED, paging.message(exc)
        Tenant.objects.filter(pk=tenant.pk).update(orders_refresh_error=result.error)
        return
    with transaction.atomic():
        _lock(tenant, rows)
        _apply(tenant, rows, result)
        _report_twins(tenant, rows, result)
        newest = max(filter(None, (_moment(row.get("lastModified")) for row in rows.values())), default=None)
        newest = min(newest, began + DATE_RESOLUTION) if newest and began else None  # began None: it may have skipped
        seen_until = max(filter(None, (newest, tenant.orders_seen_until)), default=None)
        Tenant.objects.filter(pk=tenant.pk).update(
            orders_seen_until=seen_until, orders_refreshed_at=timezone.now(), orders_refresh_error=""
        )


def _lock(tenant: Tenant, rows: dict[tuple[str, str], dict]) -> None:
    """Where the database locks rows (PostgreSQL), the orders the run may write stay locked until it commits: a Refresh
    now or a change's read answered meanwhile waits, then writes only if newer (`no_newer_than`), instead of writing
    between the run's read of the orders and its write of older list rows over them. SQLite takes the write lock when
    the transaction begins."""
    if not connection.features.has_select_for_update:
        return
    numbers = sorted({number for _, number in rows})
    for chunk in _chunks(numbers, CHUNK):
        locked = SalesOrder.objects.select_for_update().filter(tenant=tenant, visma_number__in=chunk)
        list(locked.order_by("pk").values_list("pk", flat=True))


def _defer(tenant: Tenant, result: RefreshResult, wait: float, reason: str) -> None:
    result.outcome = DEFERRED
    result.retry_at = run_later(tenant.pk, wait)
    result.error = f"{reason} The refresh runs again at {timezone.localtime(result.retry_at):%H:%M:%S}."


@dataclass
class _Pass:
    """One paged read of the list from `since` on."""

    since: datetime
    rows: dict[tuple[str, str], dict]
    began: datetime | None  # Visma's time when it began (the first answer's Date)
    listed: int | None  # the first page's totalCount: how many orders the list held when this pass began
    read: int  # distinct orders served (unusable rows included)
    note: str

    @property
    def complete(self) -> bool:
        return self.listed is None or self.read >= self.listed


def _walk(
    client: VismaClient, tenant: Tenant, result: RefreshResult
) -> tuple[dict[tuple[str, str], dict], datetime | None]:
    """Every order Visma changed since the watermark, by (type, orderId), and the time (by Visma's clock) up to which
    the watermark may move: when the walk began, or None when it may have skipped an order. Paged by offset, an order
    deleted (or ordered differently among equal creation times) while the walk pages moves the next page past one
    that was not read; the list then read fewer orders than its first page said it held, and is read once more."""
    since, first_time = _since(tenant, client.api_host)
    first = _pass(client, tenant, result, since, first_time)
    rows, began, notes = first.rows, first.began, [first.note]
    if not first.complete:
        notes.append(
            f"Visma listed {first.listed:,} orders at first but {first.read:,} were read, so it was read again"
        )
        again = _pass(client, tenant, result, first.since, False)
        for row in again.rows.values():
            _keep(rows, row)
        if not again.complete:
            began = None
            notes.append("short again: the next run reads again from the same point.")
    result.read = len(rows)
    result.note = " ".join(note for note in notes if note)
    return rows, began


def _pass(client: VismaClient, tenant: Tenant, result: RefreshResult, since: datetime, first_time: bool) -> _Pass:
    """One walk through the pages; they adapt to what Visma serves."""
    offset_used = clock.offset(client.api_host)
    asked_at, began, listed, unusable = timezone.now(), None, None, 0
    size = paging.first_size(tenant.pk, ENDPOINT, PAGE_SIZE)
    rows: dict[tuple[str, str], dict] = {}
    page_index = repeated = 0
    refused: list[int] = []
    short: list[tuple[int, int]] = []
    unremembered = False  # a smaller size is in use that has not returned a page yet
    while True:
        if (wait := client.rate_budget.bulk_read_wait()) > 0:
            raise _Deferred(wait, "Less than half of Visma's rate limit for this window is left; orders go first.")
        result.calls += 1
        try:
            page = client.list_sales_orders(since, page_index, size)
        except ValidationRejected as exc:
            began = began or asked_at + clock.offset(client.api_host)
            smaller = paging.smaller(size) if paging.is_refusal(exc) else None
            if smaller is None:
                raise
            refused.append(size)
            page_index, size, unremembered = page_index * size // smaller, smaller, True
            continue
        offset_now = clock.offset(client.api_host)
        began = began or asked_at + offset_now
        drift = offset_now - offset_used
        if first_time and page_index == 0 and abs(drift) > CLOCK_RETRY:  # asked before Visma's clock was known
            since, offset_used, first_time = since + drift, offset_used + drift, False
            continue
        if page_index == 0:
            listed = page.total_count
        known = len(rows)
        for row in page.value:
            unusable += not _keep(rows, row)
        repeated = repeated + 1 if len(rows) == known and page.value else 0
        if repeated >= MOST_REPEATED_PAGES:
            raise VismaError("Visma served the same orders again on every next page; the refresh stopped.")
        if unremembered:
            paging.remember(tenant.pk, ENDPOINT, size)
            unremembered = False
        if not page.next_page or not page.value:
            break
        if len(page.value) < size:
            # Cut short without a 400: go on in pages of the size served. Whether Visma counts pageIndex in pages of
            # the size asked or served, the next such page skips no order (some may be read twice: kept once).
            short.append((size, len(page.value)))
            page_index, size, unremembered = page_index + 1, len(page.value), True
            continue
        page_index += 1
    return _Pass(since, rows, began, listed, len(rows) + unusable, _paging_note(refused, short, size))


def _since(tenant: Tenant, api_host: str) -> tuple[datetime, bool]:
    """(modifiedSince by Visma's clock, whether this is the tenant's first run). The first run starts at the earliest
    submission (or lost POST) of the orders it follows, less the clock slack a lookup allows. Later runs start at the
    watermark, or earlier for an order submitted in the last hour that no run has read yet: Visma may date an order
    before it finishes saving it, and a run in between moves the watermark past it."""
    now = timezone.now()
    if tenant.orders_seen_until:
        unread = SalesOrder.objects.filter(
            followed(now), tenant=tenant, visma_refreshed_at__isnull=True, submitted_at__gte=now - UNREAD_LOOKBACK
        ).aggregate(first=Min("submitted_at"))["first"]
        since = tenant.orders_seen_until - OVERLAP
        if unread is not None:
            since = min(since, unread - services.CLOCK_SLACK + clock.offset(api_host))
        return since, False
    submitted = SalesOrder.objects.filter(followed(now), tenant=tenant).aggregate(first=Min("submitted_at"))["first"]
    lost = _lost_posts(now).filter(order__tenant=tenant, order__state__in=AWAITING)
    posted = lost.aggregate(first=Min("started_at"))["first"]
    first = min(filter(None, (submitted, posted)), default=now)
    return first - services.CLOCK_SLACK + clock.offset(api_host), True


def _keep(rows: dict, row: dict) -> bool:
    """Keep the row, the newest of an order read twice; False for a row naming no order."""
    order_type, order_id = row.get("type"), row.get("orderId")
    if not isinstance(order_type, str) or not isinstance(order_id, str) or not order_type or not order_id:
        return False
    key = (order_type, order_id)
    earlier = rows.get(key)
    if earlier is None or (_moment(row.get("lastModified")) or _EPOCH) >= (
        _moment(earlier.get("lastModified")) or _EPOCH
    ):
        rows[key] = row
    return True


def _paging_note(refused: list[int], short: list[tuple[int, int]], used: int) -> str:
    clauses = [f"refused pages of {size:,}" for size in refused]
    clauses += [f"served {served:,} orders per page although {asked:,} were asked" for asked, served in short]
    return f"Visma {' and '.join(clauses)}; used {used:,}." if clauses else ""


# --- what Visma said, onto the portal's orders ------------------------------------------------------------------------
def _apply(tenant: Tenant, rows: dict[tuple[str, str], dict], result: RefreshResult) -> None:
    """Orders found after a lost answer become submitted; then every submitted order Visma listed gets Visma's status
    and totals, in a few bulk statements. A row older than what the portal already read (a "Refresh now" meanwhile)
    changes nothing."""
    now = timezone.now()
    found = _found_after_lost_answer(tenant, rows)
    numbers = sorted({number for _, number in rows})
    orders: list[SalesOrder] = []
    for chunk in _chunks(numbers, CHUNK):
        orders += SalesOrder.objects.filter(tenant=tenant, state=State.SUBMITTED, visma_number__in=chunk).only(
            "pk", "reference", "state", "visma_type", "visma_number", *VISMA_FIELDS
        )
    updated = []
    for order in orders:
        row = rows.get((order.visma_type, order.visma_number))
        if row is None:
            continue
        fields = list_fields(row)
        if _older(fields["visma_last_modified"], order.visma_last_modified):
            continue
        before = (order.visma_status, order.visma_order_total)
        _set(order, fields, now)
        updated.append(order)
        if before != (order.visma_status, order.visma_order_total) or order.pk in found:
            result.changed.append(
                Seen(
                    reference=order.reference,
                    label=order.visma_label,
                    old_status=before[0],
                    new_status=order.visma_status,
                    old_total=before[1],
                    new_total=order.visma_order_total,
                    currency=order.visma_currency,
                    found=order.pk in found,
                )
            )
    _write(updated)
    result.updated = len(updated)
    result.changed.sort(key=lambda seen: seen.label)


def _write(orders: list[SalesOrder]) -> None:
    """Visma's fields of these orders, as one prepared UPDATE executed for each: Django's `bulk_update` builds a CASE
    per field and row and took about 1 ms an order in Python (10 s for 10,000), this about 0.03 ms."""
    if not orders:
        return
    fields = [SalesOrder._meta.get_field(name) for name in VISMA_FIELDS]
    quote = connection.ops.quote_name  # names from the model only; every value is a parameter
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    table, key = quote(SalesOrder._meta.db_table), quote(SalesOrder._meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608
    rows = [[f.get_db_prep_save(getattr(o, f.attname), connection) for f in fields] + [o.pk] for o in orders]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(sql, rows[start : start + CHUNK])


TWICE = "created twice"  # the timeline's outcome for an order Visma has a second time under our reference


def _report_twins(tenant: Tenant, rows: dict[tuple[str, str], dict], result: RefreshResult) -> None:
    """A submitted order whose reference Visma also has on another order: a POST that lost its answer carried out
    after the order was sent again (Visma documents no bound on how late), or a copy made in Visma. The portal keeps
    the order it was answered with; staff must cancel the other in Visma. Said once per order Visma has twice: on the
    order's timeline, at ERROR in the log and in the run's summary."""
    by_reference: dict[str, list[tuple[str, str]]] = {}
    for key, row in rows.items():
        reference = row.get("customerRefNo")
        if isinstance(reference, str) and reference:
            by_reference.setdefault(reference, []).append(key)
    twins = []
    for chunk in _chunks(sorted(by_reference), CHUNK):
        ours = SalesOrder.objects.filter(tenant=tenant, state=State.SUBMITTED, reference__in=chunk)
        for order in ours.exclude(visma_number=""):
            for order_type, order_id in by_reference[order.reference]:
                if (order_type, order_id) == (order.visma_type, order.visma_number):
                    continue
                message = (
                    f"Visma has this order a second time, as {order_type} {order_id}, under its reference; the portal "
                    f"follows {order.visma_label}. Cancel one of them in Visma."
                )
                if order.attempts_log.filter(kind="lookup", outcome=TWICE, message=message).exists():
                    continue
                SubmissionAttempt.objects.create(order=order, kind="lookup", outcome=TWICE, message=message)
                logger.error("Order %s: %s", order.reference, message)
                twins.append(f"{order.reference} ({order.visma_label} and {order_type} {order_id})")
    if twins:
        note = f"Visma has {len(twins)} order{'s' if len(twins) != 1 else ''} twice: {', '.join(twins)}."
        result.note = " ".join(part for part in (result.note, note) if part)


def _older(listed: datetime | None, known: datetime | None) -> bool:
    return listed is not None and known is not None and listed < known


def _found_after_lost_answer(tenant: Tenant, rows: dict[tuple[str, str], dict]) -> set[int]:
    """Orders of ours Visma has under our reference (`customerRefNo`) while the portal still waits to learn whether
    their POST arrived: marked submitted with Visma's number (`services.found_in_visma`), so never sent again."""
    by_reference = {}
    for (order_type, order_id), row in rows.items():
        reference = row.get("customerRefNo")
        if isinstance(reference, str) and reference:
            by_reference[reference] = (order_type, order_id)
    found = set()
    for chunk in _chunks(sorted(by_reference), CHUNK):
        waiting = SalesOrder.objects.filter(awaiting(), tenant=tenant, reference__in=chunk).select_related(
            "tenant", "customer"
        )
        for order in waiting:
            if services.found_in_visma(order, *by_reference[order.reference]).state == State.SUBMITTED:
                found.add(order.pk)
    return found


def list_fields(row: dict) -> dict:
    """The portal's fields from one `SalesOrderListDto`."""
    return {
        "visma_status": _text(row.get("status"), 20),
        "visma_order_total": _decimal(row.get("orderTotal")),
        "visma_tax_total": _decimal(row.get("taxTotal")),
        "visma_currency": _text(row.get("currency"), 5),
        "visma_shipping_date": _date(row.get("shippingScheduledDate")),
        "visma_last_modified": _moment(row.get("lastModified")),
    }


def order_fields(dto: dict) -> dict:
    """The portal's fields from one `SalesOrderDto` (status, totals and shipping are sections of it)."""
    status = _dict(dto.get("status"))
    word = _text(status.get("description"), 20)
    if not word:
        word = "Cancelled" if status.get("cancelled") is True else "Hold" if status.get("hold") is True else ""
    totals = _dict(dto.get("totals"))
    return {
        "visma_status": word,
        "visma_order_total": _decimal(totals.get("orderTotal")),
        "visma_tax_total": _decimal(totals.get("taxTotal")),
        "visma_currency": _text(dto.get("currencyId"), 5),
        "visma_shipping_date": _date(_dict(dto.get("shipping")).get("scheduledDate")),
        "visma_last_modified": _moment(dto.get("lastModified")),
        **detail_fields(dto),
    }


DETAIL_FIELDS = ["description", "note", "request_on"]


def detail_fields(dto: dict) -> dict:
    """The order's description, note and requested date as Visma has them, for each one the answer carries (the note
    only when asked for with expand=Note). The portal's copies follow Visma's, so the form that changes them starts
    from what a change would replace, at the version the change carries: never over words nobody was shown."""
    details = {}
    if "description" in dto:
        details["description"] = _one_line(dto.get("description"), DESCRIPTION_MAX)
    if "note" in dto:
        details["note"] = _note(dto.get("note"), NOTE_MAX)
    if "requestOn" in dto:
        details["request_on"] = _date(dto.get("requestOn"))
    return details


DESCRIPTION_MAX = SalesOrder._meta.get_field("description").max_length
NOTE_MAX = SalesOrder._meta.get_field("note").max_length


def _one_line(value, limit: int) -> str:
    text = value if isinstance(value, str) else ""
    return " ".join(UNSTORABLE.sub(" ", text).split())[:limit]


_UNSTORABLE_IN_NOTES = re.compile(r"(?![\t\r\n])" + UNSTORABLE.pattern)


def _note(value, limit: int) -> str:
    """Its lines kept; other control characters and lone surrogates (`remote_text.UNSTORABLE`) left out."""
    text = value if isinstance(value, str) else ""
    return _UNSTORABLE_IN_NOTES.sub("", text)[:limit]


def _set(order: SalesOrder, fields: dict, now: datetime) -> None:
    """Visma's values onto the order; it is closed from the first time Visma completed or cancelled it (and open
    again should Visma reopen it)."""
    for name, value in fields.items():
        setattr(order, name, value)
    order.visma_refreshed_at = now
    if not visma_status.is_closed(order.visma_status):
        order.visma_closed_at = None
    elif order.visma_closed_at is None:
        order.visma_closed_at = now


# --- "Refresh now" ----------------------------------------------------------------------------------------------------
ORDER_FIELDS = [*VISMA_FIELDS, "visma_etag", "visma_lines", "visma_lines_read_for"]


def refresh_order(order: SalesOrder, user=None) -> str:
    """Read one order from Visma now, for staff waiting for it: one call, and its lines only when Visma changed the
    order since they were read; within the person's limit of such reads (`tenants.staff_reads`). Returns "" or why
    Visma could not be read, in words."""
    if not order.visma_number:
        return "The order is not in Visma yet."
    if (wait := staff_reads.wait_for(user)) is not None:
        return staff_reads.refusal(wait)
    client = VismaClient(order.tenant, for_staff=True)
    try:
        with api_log.context(f"order {order.reference}"):
            remote = client.get_sales_order(order.visma_type, order.visma_number, expand=("Shipping", "Note"))
            fields = {**order_fields(remote.order), "visma_etag": remote.etag}
            modified = fields["visma_last_modified"]
            if order.visma_lines is None or modified is None or modified != order.visma_lines_read_for:
                lines = client.get_sales_order_lines(order.visma_type, order.visma_number)
                fields["visma_lines"] = [line_fields(line) for line in lines]
                fields["visma_lines_read_for"] = modified
    except VismaError as exc:
        logger.info("Order %s could not be read from Visma for %s: %s", order.reference, user, exc)
        return paging.message(exc)
    _set(order, fields, timezone.now())
    names = [*ORDER_FIELDS, *(name for name in DETAIL_FIELDS if name in fields)]
    values = {name: getattr(order, name) for name in names}
    if not SalesOrder.objects.filter(no_newer_than(fields["visma_last_modified"]), pk=order.pk).update(**values):
        order.refresh_from_db(fields=names)  # a run wrote a newer version while this read was answered
    logger.info("Order %s read from Visma for %s", order.reference, user)
    return ""


def no_newer_than(modified: datetime | None) -> Q:
    """Orders whose Visma fields are not newer than a read of Visma's order at `modified`: a read written with this
    condition never overwrites a newer one (Refresh now, a change's read, a run; whichever is answered last)."""
    if modified is None:
        return Q()
    return Q(visma_last_modified__isnull=True) | Q(visma_last_modified__lte=modified)


def line_fields(line: dict) -> dict:
    """What the portal keeps of one `SalesOrderLineDto`: numbers as exact decimal text."""
    inventory = _dict(line.get("inventory"))
    price = _decimal(line.get("unitPrice"))
    quantity = _decimal(line.get("quantity"))
    return {
        "lineId": line.get("lineId") if isinstance(line.get("lineId"), int) else None,
        "sortOrder": line.get("sortOrder") if isinstance(line.get("sortOrder"), int) else None,
        "inventoryId": _text(inventory.get("id"), 30),
        "description": _text(line.get("description"), 256),
        "quantity": None if quantity is None else str(quantity.normalize()),
        "unitPrice": None if price is None else str(price.normalize()),
        "taxCategoryId": _text(line.get("taxCategoryId"), 10),
    }


# --- reading Visma's values -------------------------------------------------------------------------------------------
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LARGEST = Decimal(10) ** 21  # the amount fields hold 22 digits before the decimal mark


def _text(value, limit: int) -> str:
    return clean(value, limit=limit) if isinstance(value, str) else ""


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number) >= _LARGEST:
        return None
    return number.quantize(Decimal("0.00000001"))


def _moment(value) -> datetime | None:
    """A date-time as Visma writes it (UTC unless it says otherwise, up to seven decimals)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _date(value) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]
