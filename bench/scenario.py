"""What the throughput benchmarks (latency, ratelimit, fairness) share: tenants with synced customers, orders sent
through real clusters and timed by when each was submitted, and bare loops of the same POSTs for the baseline.

Nothing here calls the sweeper: an order the portal defers (a 429, a backoff) goes out again when the portal itself
sends it, through the cluster's own schedule, as in production.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.cluster import Cluster, wait_until_ready
from bench.setup import Sandbox

SECRET = "bench-secret-" + "x" * 20
ORDERS_PATH = "/api/v3/SalesOrders"
TIME_LIMIT = 600  # seconds for one batch of orders; what is not finished by then is reported as unfinished
ENVIRONMENT = {"CUSTOMER_SYNC_MINUTES": "600"}  # no background customer sync spends the budget during a run
EXTRA_TENANT = "0b5e1a7e-b0b0-4b0b-8b0b-00000000000b"  # tenant B of the fairness benchmark


@dataclass
class Batch:
    """Orders queued together `after` seconds into the run."""

    order_ids: list[int]
    after: float = 0.0
    queued_at: float = 0.0  # wall-clock time (time.time()) they were queued


@dataclass
class Run:
    elapsed: float  # first order queued to the last one submitted (its `submitted_at`)
    waited: dict[int, float] = field(default_factory=dict)  # order id: seconds from queued to submitted
    states: Counter = field(default_factory=Counter)

    @property
    def unfinished(self) -> int:
        return self.states["queued"] + self.states["submitting"]


def quiet_logs() -> None:
    logging.getLogger("urllib3").setLevel(logging.ERROR)


def prepare(sandbox: Sandbox, *extra_tenants: str) -> list[tuple]:
    """The sandbox's writing tenant and `extra_tenants` registered, their customers synced: [(tenant, customers)]."""
    from sandbox.seed import TENANT_FULL
    from tenants import sync
    from tenants.customer_models import Customer, CustomerSync
    from tenants.demo import register_sandbox
    from tenants.models import Tenant

    full = next(t for t in register_sandbox(sandbox.base_url, SECRET) if str(t.tenant_id) == TENANT_FULL)
    tenants = [full] + [
        Tenant.objects.create(application=full.application, tenant_id=tenant_id, name=f"Extra tenant {n}")
        for n, tenant_id in enumerate(extra_tenants, start=1)
    ]
    prepared = []
    for tenant in tenants:
        run = sync.start_sync(tenant, trigger=CustomerSync.Trigger.COMMAND, enqueue=False)
        assert sync.run_sync(run.pk).outcome == CustomerSync.Outcome.SUCCEEDED
        prepared.append((tenant, list(Customer.objects.filter(tenant=tenant, status="Active"))))
    return prepared


def fresh_start(sandbox: Sandbox) -> None:
    """The sandbox as new (no orders, tokens or spent rate-limit windows) and the portal's cache empty (tokens,
    rate-limit budgets), so what the preparation spent does not count."""
    from django.core.cache import cache

    sandbox.control("POST", "reset")
    cache.clear()


def bare_posts(sandbox: Sandbox, order_ids: list[int], threads: int = 1, tenant_id: str | None = None) -> float:
    """Seconds for the same POST bodies sent by `threads` threads (one session each) with plain requests, after one
    token request; nothing recorded. Every answer must be 201."""
    from orders import payload
    from orders.models import SalesOrder
    from sandbox.seed import DEMO_CLIENT_ID, SCOPE_WRITE, TENANT_FULL
    from tenants.visma import encode_json

    bodies = [
        encode_json(payload.build(order))
        for order in SalesOrder.objects.filter(pk__in=order_ids).select_related("customer").prefetch_related("lines")
    ]
    form = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": SECRET}
    form |= {"scope": SCOPE_WRITE, "tenant_id": tenant_id or TENANT_FULL}
    started = time.perf_counter()
    token = requests.post(sandbox.token_url, data=form, timeout=10, verify=sandbox.verify).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    pending = iter(bodies)
    guard, failures = threading.Lock(), []

    def sender() -> None:
        session = requests.Session()
        session.trust_env = False
        session.verify = sandbox.verify
        while True:
            with guard:
                body = next(pending, None)
            if body is None:
                return
            response = session.post(f"{sandbox.api_url}{ORDERS_PATH}", data=body, headers=headers, timeout=60)
            if response.status_code != 201:
                failures.append(f"{response.status_code} {response.text[:200]}")

    workers = [threading.Thread(target=sender) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise RuntimeError(f"The bare loop got {len(failures)} answers that were not 201, e.g. {failures[0]}")
    return time.perf_counter() - started


def through_cluster(folder: Path, batches: list[Batch], *, workers: int, label: str) -> Run:
    """Start one cluster of `workers` workers, wait until it runs tasks, queue each batch at its time, and wait until
    every order is submitted or failed (or TIME_LIMIT passed). Times come from each order's `submitted_at`."""
    from orders import services
    from orders.models import SalesOrder

    order_ids = [pk for batch in batches for pk in batch.order_ids]
    cluster = Cluster(folder / f"qcluster-{label}.log", Q_WORKERS=str(workers))
    cluster.start()
    try:
        wait_until_ready(folder / f"ready-{label}.marks")
        print(f"{label}: {len(order_ids):,} orders, {workers} worker(s)…", file=sys.stderr, flush=True)
        started = time.time()
        for batch in sorted(batches, key=lambda b: b.after):
            time.sleep(max(0.0, started + batch.after - time.time()))
            batch.queued_at = time.time()
            for order in SalesOrder.objects.filter(pk__in=batch.order_ids).only("pk", "state"):
                services.queue(order)
        orders = SalesOrder.objects.filter(pk__in=order_ids)
        while time.time() - started < TIME_LIMIT:
            if not orders.filter(state__in=[SalesOrder.State.QUEUED, SalesOrder.State.SUBMITTING]).exists():
                break
            time.sleep(0.2)
    finally:
        cluster.stop()
    queued_at = {pk: batch.queued_at for batch in batches for pk in batch.order_ids}
    done = dict(orders.filter(submitted_at__isnull=False).values_list("pk", "submitted_at"))
    waited = {pk: at.timestamp() - queued_at[pk] for pk, at in done.items()}
    last = max((at.timestamp() for at in done.values()), default=time.time())
    return Run(elapsed=last - started, waited=waited, states=Counter(orders.values_list("state", flat=True)))


def setting(name: str, default):
    from django.conf import settings

    return getattr(settings, name, default)


def tenant_concurrency() -> str:
    """For the report: the clusters' ORDER_TENANT_CONCURRENCY, where the portal has that setting (its default
    depends on each cluster's Q_WORKERS, so only an explicit value is named)."""
    if setting("ORDER_TENANT_CONCURRENCY", None) is None:
        return ""
    return f" (ORDER_TENANT_CONCURRENCY {os.environ.get('ORDER_TENANT_CONCURRENCY', 'default')})"
