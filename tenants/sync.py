"""Customer sync: follow every page of `GET /api/v3/Customers` and upsert each page with one bulk statement."""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from . import api_log, notifications, paging
from .customer_models import Customer, CustomerSync
from .models import Tenant
from .visma import RateLimited, Unauthorized, ValidationRejected, VismaClient, VismaError

logger = logging.getLogger(__name__)

# Fields copied from Visma on every sync; first_seen_at is set once and never updated.
SYNCED_FIELDS = [
    "internal_id",
    "name",
    "status",
    "currency",
    "customer_class",
    "address_line1",
    "address_line2",
    "postal_code",
    "country",
    "location_id",
    "location_name",
    "location_country",
    "location_warehouse",
]
MAX_RATE_LIMIT_WAITS = 5


class _Deferred(Exception):
    """Less than half of Visma's rate-limit window is left: the rest is for order submission."""

    def __init__(self, wait: float):
        super().__init__(wait)
        self.wait = wait


class SyncAlreadyRunning(Exception):
    def __init__(self, running: CustomerSync):
        super().__init__(
            f"A customer sync of {running.tenant} is already running (started {running.started_at:%H:%M})."
        )
        self.running = running


def customer_row(dto: dict) -> tuple:
    """Map one `CustomerDto` to (number, *SYNCED_FIELDS); missing or null values become empty strings."""
    get = dto.get
    location = get("defaultLocation") or {}
    return (
        _text(get("id"), 30),
        get("internalId"),
        _text(get("name"), 255),
        _text(get("status"), 30),
        _text(get("currencyId"), 10),
        _text(get("customerClassId"), 30),
        _text(get("addressLine1"), 255),
        _text(get("addressLine2"), 255),
        _text(get("postalCode"), 20),
        _text(get("country"), 10),
        _text(location.get("id"), 30),
        _text(location.get("name"), 255),
        _text(location.get("countryId"), 10),
        _text(location.get("warehouseId"), 30),
    )


def _text(value, limit: int) -> str:
    if value.__class__ is str:
        return value if len(value) <= limit else value[:limit]
    return "" if value is None else str(value)[:limit]


def start_sync(tenant: Tenant, trigger: str, user=None, *, enqueue: bool = True) -> CustomerSync:
    """Record a new running sync and (unless told not to) enqueue it after commit.

    Raises SyncAlreadyRunning when the tenant already has a running sync.
    """
    _expire_stale_runs(tenant)
    try:
        with transaction.atomic():
            sync = CustomerSync.objects.create(tenant=tenant, trigger=trigger, started_by=user)
    except IntegrityError:
        running = CustomerSync.objects.filter(tenant=tenant, outcome=CustomerSync.Outcome.RUNNING).first()
        if running is None:  # finished between our insert and this read
            return start_sync(tenant, trigger, user, enqueue=enqueue)
        raise SyncAlreadyRunning(running) from None
    if enqueue:
        transaction.on_commit(lambda: _enqueue(sync.pk))
    return sync


def _enqueue(sync_id: int) -> None:
    from django_q.tasks import async_task

    async_task(
        "tenants.tasks.sync_customers",
        sync_id,
        task_name=f"customer-sync-{sync_id}",
        group="customer-sync",
        timeout=settings.CUSTOMER_SYNC_TASK_TIMEOUT,
    )


def _expire_stale_runs(tenant: Tenant) -> None:
    """A run whose worker died never finishes; after a quiet spell it no longer blocks new runs."""
    cutoff = timezone.now() - timedelta(minutes=settings.CUSTOMER_SYNC_STALE_MINUTES)
    CustomerSync.objects.filter(tenant=tenant, outcome=CustomerSync.Outcome.RUNNING, heartbeat_at__lt=cutoff).update(
        outcome=CustomerSync.Outcome.FAILED,
        finished_at=timezone.now(),
        error="The sync stopped responding (the worker was probably restarted). Customers fetched so far are kept.",
    )


@api_log.in_context(lambda sync_id, **kwargs: f"customer sync {sync_id}")
def run_sync(
    sync_id: int,
    *,
    on_page: Callable[[CustomerSync], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> CustomerSync:
    """Fetch every page for the sync's tenant. Records progress per page; never raises for Visma errors."""
    # The queue may deliver a task twice (ORM broker redelivery); only the delivery that claims the run works on it.
    claimed = CustomerSync.objects.filter(
        pk=sync_id, outcome=CustomerSync.Outcome.RUNNING, claimed_at__isnull=True
    ).update(claimed_at=timezone.now(), heartbeat_at=timezone.now())
    sync = CustomerSync.objects.select_related("tenant__application").get(pk=sync_id)
    if not claimed:
        return sync
    client = VismaClient(sync.tenant)
    page_index = 0
    waits = refreshed = 0
    size = paging.first_size(sync.tenant_id, paging.CUSTOMERS, settings.CUSTOMER_SYNC_PAGE_SIZE)
    refused: list[int] = []
    short: list[tuple[int, int]] = []  # (asked, served) for each page Visma cut short without a 400
    unremembered = False  # a smaller size is in use that has not returned a page yet
    pages = _PageFetcher(client)
    try:
        token = client.token()
        pages.start(page_index, size, token)
        known = _known_customers(sync.tenant_id)
        while True:
            if (wait := client.rate_budget.bulk_read_wait()) > 0:
                if wait > settings.CUSTOMER_SYNC_MAX_WAIT:
                    raise _Deferred(wait)
                pages.stop()
                logger.info("Customer sync %s leaves the rest of Visma's window to orders: %.0f s", sync.pk, wait)
                sleep(wait)
                pages.start(page_index, size, token)
            try:
                page = pages.next()
            except RateLimited as exc:
                waits += 1
                wait = exc.retry_after or 1
                if waits > MAX_RATE_LIMIT_WAITS or wait > settings.CUSTOMER_SYNC_MAX_WAIT:
                    raise
                logger.info("Customer sync %s rate limited; waiting %s s", sync.pk, wait)
                sleep(wait)
                pages.start(page_index, size, token)
                continue
            except Unauthorized:
                refreshed += 1
                if refreshed > 1:
                    raise
                client.drop_token(token)
                token = client.token()
                pages.start(page_index, size, token)
                continue
            except ValidationRejected as exc:
                if not paging.is_refusal(exc):
                    raise
                refused.append(size)
                smaller = paging.smaller(size)
                if smaller is None:
                    raise
                logger.info("Customer sync %s: Visma refused pages of %s; asking for %s", sync.pk, size, smaller)
                page_index, size = page_index * size // smaller, smaller  # the same offset, in pages of the new size
                unremembered = True
                pages.start(page_index, size, token)
                continue
            client.observe_rate(page.rate_headers or {}, page.status)
            with transaction.atomic():  # one commit per page: its customers and the progress together
                _upsert_page(sync, page.value, known)
                sync.pages += 1
                sync.fetched += len(page.value)
                sync.total = page.total_count
                sync.heartbeat_at = timezone.now()
                sync.save(update_fields=["pages", "fetched", "total", "created", "updated", "heartbeat_at"])
            if unremembered:
                paging.remember(sync.tenant_id, paging.CUSTOMERS, size)
                unremembered = False
            if on_page:
                on_page(sync)
            if not _has_more(page):
                break
            if len(page.value) < size:
                # Cut short without a 400. Whether Visma counts pageIndex in pages of the size asked or of the size
                # served, the next page of the size served skips no customer (when the cap came after the first
                # page and Visma counts in pages asked, it reads some again: upserts make that harmless).
                served = len(page.value)
                logger.info("Customer sync %s: Visma served %s customers of %s asked", sync.pk, served, size)
                short.append((size, served))
                page_index, size = page_index + 1, served
                sync.fetched = page_index * size  # so customers read again are counted once
                unremembered = True
                pages.start(page_index, size, token)
                continue
            page_index += 1
    except _Deferred as deferred:
        again = _start_again_later(sync.tenant, deferred.wait)
        reason = (
            "Deferred: less than half of Visma's rate limit for this window is left, and order submission needs it. "
            f"A new sync starts at {timezone.localtime(again):%H:%M}."
        )
        stopped = _stopped_message(sync, page_index, reason)
        return _finish(sync, CustomerSync.Outcome.DEFERRED, paging.note(refused, size, short), error=stopped)
    except VismaError as exc:
        stopped = _stopped_message(sync, page_index, paging.message(exc))
        return _finish(sync, CustomerSync.Outcome.FAILED, paging.note(refused, size, short), error=stopped)
    except Exception:
        logger.exception("Customer sync %s crashed", sync.pk)
        stopped = _stopped_message(sync, page_index, "Unexpected error (logged).")
        _finish(sync, CustomerSync.Outcome.FAILED, paging.note(refused, size, short), error=stopped)
        raise
    finally:
        pages.stop()
    sync.removed = Customer.objects.filter(
        tenant=sync.tenant, removed_at__isnull=True, last_seen_at__lt=sync.started_at
    ).update(removed_at=timezone.now())
    return _finish(sync, CustomerSync.Outcome.SUCCEEDED, paging.note(refused, size, short))


def _start_again_later(tenant: Tenant, wait: float):
    """A one-off schedule that starts the tenant's sync again when Visma's window has turned."""
    from django_q.models import Schedule

    when = timezone.now() + timedelta(seconds=wait)
    Schedule.objects.update_or_create(
        name=f"customer-sync-after-rate-limit-{tenant.pk}",
        defaults={
            "func": "tenants.tasks.sync_tenant",
            "args": repr((tenant.pk,)),
            "schedule_type": Schedule.ONCE,
            "repeats": 1,
            "next_run": when,
        },
    )
    return when


def _has_more(page) -> bool:
    return bool(page.next_page and page.value)


class _PageFetcher:
    """Fetches pages one after another in a helper thread, at most two ahead of the thread that stores them.

    The helper sends the next request as soon as it has a page, so Visma prepares page N+1 while page N is stored;
    a request started from the storing thread instead waits for the interpreter lock (up to 5 ms) first. The helper
    gets an explicit token, so it never touches the cache or the database; it stops at the first error, which it
    hands over, or after a page shorter than asked, and the storing thread decides (wait out a 429, refresh the token,
    ask for smaller pages, go on in pages of the size served, give up) and starts it again.
    """

    def __init__(self, client: VismaClient):
        self.client = client
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.pages: queue.Queue = queue.Queue()

    def start(self, page_index: int, page_size: int, token) -> None:
        """Fetch from `page_index` on, in pages of `page_size`; pages still queued from an earlier start are dropped."""
        self.stop()
        self.stopping, self.pages = threading.Event(), queue.Queue(maxsize=2)
        self.thread = threading.Thread(
            target=self._fetch,
            args=(page_index, page_size, token, self.stopping, self.pages),
            name="customer-sync",
            daemon=True,
        )
        self.thread.start()

    def next(self):
        """The next page, or the error that stopped the helper, raised here."""
        result = self.pages.get()
        if isinstance(result, Exception):
            raise result
        return result

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join()
            self.thread = None

    def _fetch(self, page_index: int, page_size: int, token, stopping: threading.Event, pages: queue.Queue) -> None:
        while not stopping.is_set():
            try:
                page = self.client.get_customers(page_index=page_index, page_size=page_size, token=token)
            except Exception as exc:
                self._put(exc, stopping, pages)
                return
            if not self._put(page, stopping, pages) or not _has_more(page) or len(page.value) < page_size:
                return
            page_index += 1

    @staticmethod
    def _put(item, stopping: threading.Event, pages: queue.Queue) -> bool:
        while not stopping.is_set():
            try:
                pages.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


def _stopped_message(sync: CustomerSync, page_index: int, reason: str) -> str:
    return (
        f"{reason} Stopped at page {page_index + 1} after {sync.fetched} customers; those are kept, "
        "and no customer was marked as removed because the run was incomplete."
    )


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _finish(sync: CustomerSync, outcome: str, note: str, error: str = "") -> CustomerSync:
    """`note` says how paging adapted; a failed run's error ends with it too, as it may explain the failure."""
    sync.outcome = outcome
    sync.note = note
    sync.error = _join(error, note) if error else ""
    sync.finished_at = timezone.now()
    sync.save(update_fields=["outcome", "note", "error", "finished_at", "removed"])
    notifications.customer_sync_finished(sync)
    return sync


def _known_customers(tenant_id: int) -> dict[str, int]:
    """Number -> hash of the synced fields as stored, for the tenant's customers not marked removed: one read per
    sync (about 15 ms and 1.5 MB for 10,000 customers), so a page whose customers did not change costs no upsert."""
    with connection.cursor() as cursor:
        cursor.execute(_Statements().known, [tenant_id])
        return {row[0]: hash(row[1:]) for row in cursor.fetchall()}


def _upsert_page(sync: CustomerSync, dtos: list[dict], known: dict[str, int]) -> None:
    """Insert new customers and rewrite changed ones; unchanged ones only get their last-seen stamp.

    `known` spares the database the rows whose synced fields hash as stored (64 bits: a collision is as good as
    impossible); the upsert's own WHERE decides for the rest.
    """
    rows = {}
    for dto in dtos:
        row = customer_row(dto)
        if row[0]:
            rows[row[0]] = row
    if not rows:
        return
    seen = Customer._meta.get_field("last_seen_at").get_db_prep_value(sync.started_at, connection)
    sql = _Statements()
    written: dict[str, bool] = {}
    candidates = [row for number, row in rows.items() if known.get(number) != hash(row[1:])]
    with connection.cursor() as cursor:
        for batch in _batches(candidates, sql.rows_per_upsert):
            cursor.execute(
                sql.upsert(len(batch)), [value for row in batch for value in (sync.tenant_id, *row, seen, seen, None)]
            )
            written.update((number, bool(inserted)) for number, inserted in cursor.fetchall())
        for batch in _batches([number for number in rows if number not in written], sql.numbers_per_stamp):
            cursor.execute(sql.stamp(len(batch)), [seen, sync.tenant_id, *batch])
    created = sum(written.values())
    sync.created += created
    sync.updated += len(written) - created


class _Statements:
    """The page's SQL, from the model's own metadata (identifiers quoted); every value is a bound parameter.

    upsert: INSERT ... ON CONFLICT DO UPDATE only WHERE a synced field differs or the customer was marked removed,
    RETURNING (number, inserted) for the rows it wrote. stamp: last_seen_at for the rows the upsert skipped.
    """

    def __init__(self):
        quote = connection.ops.quote_name
        table = quote(Customer._meta.db_table)
        column = {f.name: quote(f.column) for f in Customer._meta.concrete_fields}
        names = ["tenant", "number", *SYNCED_FIELDS, "first_seen_at", "last_seen_at", "removed_at"]
        differs = "IS NOT" if connection.vendor == "sqlite" else "IS DISTINCT FROM"  # both null-safe
        changed = " OR ".join(f"{table}.{column[n]} {differs} excluded.{column[n]}" for n in SYNCED_FIELDS)
        assignments = ", ".join(f"{column[n]} = excluded.{column[n]}" for n in [*SYNCED_FIELDS, "last_seen_at"])
        self._insert = f"INSERT INTO {table} ({', '.join(column[n] for n in names)}) VALUES "  # noqa: S608
        self._on_conflict = (
            f" ON CONFLICT ({column['tenant']}, {column['number']}) DO UPDATE SET {assignments},"
            f" {column['removed_at']} = NULL WHERE {table}.{column['removed_at']} IS NOT NULL OR {changed}"
            f" RETURNING {column['number']}, {column['first_seen_at']} = {column['last_seen_at']}"
        )
        self._row = f"({', '.join(['%s'] * len(names))})"
        self.known = (
            f"SELECT {', '.join(column[n] for n in ['number', *SYNCED_FIELDS])} FROM {table}"  # noqa: S608
            f" WHERE {column['tenant']} = %s AND {column['removed_at']} IS NULL"
        )
        self._stamp = (
            f"UPDATE {table} SET {column['last_seen_at']} = %s WHERE {column['tenant']} = %s AND {column['number']} IN "  # noqa: S608
        )
        limit = _max_query_params()
        self.rows_per_upsert = limit // len(names)
        self.numbers_per_stamp = limit - 2

    def upsert(self, rows: int) -> str:
        return self._insert + ", ".join([self._row] * rows) + self._on_conflict

    def stamp(self, numbers: int) -> str:
        return f"{self._stamp}({', '.join(['%s'] * numbers)})"


def _batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _max_query_params() -> int:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return connection.features.max_query_params or 65535


def last_sync(tenant: Tenant) -> CustomerSync | None:
    return CustomerSync.objects.filter(tenant=tenant).order_by("-started_at").first()
