"""Customer sync: follow every page of `GET /api/v3/Customers` and upsert each page with one bulk statement."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .customer_models import Customer, CustomerSync
from .models import Tenant
from .visma import RateLimited, Unauthorized, VismaClient, VismaError

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


class SyncAlreadyRunning(Exception):
    def __init__(self, running: CustomerSync):
        super().__init__(
            f"A customer sync of {running.tenant} is already running (started {running.started_at:%H:%M})."
        )
        self.running = running


def customer_fields(dto: dict) -> dict:
    """Map one `CustomerDto` to model fields; missing or null values become empty strings."""
    location = dto.get("defaultLocation") or {}

    def text(value, limit: int) -> str:
        return ("" if value is None else str(value))[:limit]

    return {
        "number": text(dto.get("id"), 30),
        "internal_id": dto.get("internalId"),
        "name": text(dto.get("name"), 255),
        "status": text(dto.get("status"), 30),
        "currency": text(dto.get("currencyId"), 10),
        "customer_class": text(dto.get("customerClassId"), 30),
        "address_line1": text(dto.get("addressLine1"), 255),
        "address_line2": text(dto.get("addressLine2"), 255),
        "postal_code": text(dto.get("postalCode"), 20),
        "country": text(dto.get("country"), 10),
        "location_id": text(location.get("id"), 30),
        "location_name": text(location.get("name"), 255),
        "location_country": text(location.get("countryId"), 10),
        "location_warehouse": text(location.get("warehouseId"), 30),
    }


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
    page_size = settings.CUSTOMER_SYNC_PAGE_SIZE
    page_index = 0
    waits = refreshed = 0
    # The next page is fetched in a helper thread while this one is stored. The helper gets an explicit token so it
    # never touches the cache or the database; token refreshes and rate-limit waits happen here.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="customer-sync")
    try:
        token = client.token()

        def fetch(index: int):
            return pool.submit(client.get_customers, page_index=index, page_size=page_size, token=token)

        pending = fetch(page_index)
        while True:
            try:
                page = pending.result()
            except RateLimited as exc:
                waits += 1
                wait = exc.retry_after or 1
                if waits > MAX_RATE_LIMIT_WAITS or wait > settings.CUSTOMER_SYNC_MAX_WAIT:
                    raise
                logger.info("Customer sync %s rate limited; waiting %s s", sync.pk, wait)
                sleep(wait)
                pending = fetch(page_index)
                continue
            except Unauthorized:
                refreshed += 1
                if refreshed > 1:
                    raise
                client.drop_token(token)
                token = client.token()
                pending = fetch(page_index)
                continue
            more = bool(page.next_page and page.value)
            if more:
                pending = fetch(page_index + 1)
            _upsert_page(sync, page.value)
            sync.pages += 1
            sync.fetched += len(page.value)
            sync.total = page.total_count
            sync.heartbeat_at = timezone.now()
            sync.save(update_fields=["pages", "fetched", "total", "created", "updated", "heartbeat_at"])
            if on_page:
                on_page(sync)
            if not more:
                break
            page_index += 1
    except VismaError as exc:
        return _finish(sync, CustomerSync.Outcome.FAILED, _stopped_message(sync, page_index, str(exc)))
    except Exception:
        logger.exception("Customer sync %s crashed", sync.pk)
        _finish(sync, CustomerSync.Outcome.FAILED, _stopped_message(sync, page_index, "Unexpected error (logged)."))
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    sync.removed = Customer.objects.filter(
        tenant=sync.tenant, removed_at__isnull=True, last_seen_at__lt=sync.started_at
    ).update(removed_at=timezone.now())
    return _finish(sync, CustomerSync.Outcome.SUCCEEDED, "")


def _stopped_message(sync: CustomerSync, page_index: int, reason: str) -> str:
    return (
        f"{reason} Stopped at page {page_index + 1} after {sync.fetched} customers; those are kept, "
        "and no customer was marked as removed because the run was incomplete."
    )


def _finish(sync: CustomerSync, outcome: str, error: str) -> CustomerSync:
    sync.outcome = outcome
    sync.error = error
    sync.finished_at = timezone.now()
    sync.save(update_fields=["outcome", "error", "finished_at", "removed"])
    return sync


def _upsert_page(sync: CustomerSync, dtos: list[dict]) -> None:
    """One read and one bulk upsert per page, whatever its size."""
    rows = {}
    for dto in dtos:
        fields = customer_fields(dto)
        if fields["number"]:
            rows[fields["number"]] = fields
    if not rows:
        return
    existing = {
        c["number"]: c
        for c in Customer.objects.filter(tenant=sync.tenant, number__in=rows).values(
            "number", "removed_at", *SYNCED_FIELDS
        )
    }
    _upsert(sync.tenant_id, list(rows.values()), sync.started_at)
    sync.created += sum(1 for number in rows if number not in existing)
    sync.updated += sum(
        1
        for number, fields in rows.items()
        if number in existing
        and (existing[number]["removed_at"] is not None or any(existing[number][f] != fields[f] for f in SYNCED_FIELDS))
    )


def _upsert(tenant_id: int, rows: list[dict], seen_at) -> None:
    """One INSERT ... ON CONFLICT DO UPDATE, executed for the whole page (SQLite and PostgreSQL alike).

    The ORM's bulk_create compiles a statement per small batch, which made it most of a sync's time.
    """
    table = connection.ops.quote_name(Customer._meta.db_table)
    column = {f.name: connection.ops.quote_name(f.column) for f in Customer._meta.concrete_fields}
    names = ["tenant", "number", *SYNCED_FIELDS, "first_seen_at", "last_seen_at", "removed_at"]
    updated = [*SYNCED_FIELDS, "last_seen_at", "removed_at"]
    columns = ", ".join(column[n] for n in names)
    values = ", ".join(["%s"] * len(names))
    key = f"{column['tenant']}, {column['number']}"
    updates = ", ".join(f"{column[n]} = excluded.{column[n]}" for n in updated)
    # Identifiers come from the model's own metadata, quoted; every value is a bound parameter.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT ({key}) DO UPDATE SET {updates}"  # noqa: S608
    field = {f.name: f for f in Customer._meta.concrete_fields}
    seen = field["last_seen_at"].get_db_prep_value(seen_at, connection)
    params = [[tenant_id, row["number"], *(row[n] for n in SYNCED_FIELDS), seen, seen, None] for row in rows]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)


def last_sync(tenant: Tenant) -> CustomerSync | None:
    return CustomerSync.objects.filter(tenant=tenant).order_by("-started_at").first()
