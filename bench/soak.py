"""Soak: 1,000 orders through a real django-q2 cluster while the sandbox misbehaves and the cluster is killed.

About a quarter of Sales Order API requests are faulted (accept_then_drop, 500, 503, 429, slow answers that time
out), the whole cluster (its process group) gets SIGKILL three times and is started again. When the queue is empty
the sweeper service is called directly instead of waiting for its one-minute schedule. It then reports what Visma
(the sandbox) received: duplicates by `customerRefNo` and orders left unfinished must both be 0. Throughput is
compared with a bare loop of the same POSTs in the same run. SQLite (WAL) with the ORM broker; loopback only.

Also the engine of `bench/orders.py` (the same run with no faults and no kills).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.setup import ROOT, Sandbox, configure_django, sandbox_process

ORDERS = 1000
KILLS = 3
TIME_LIMIT = 300  # seconds for the whole portal run; what is not finished by then is reported as unfinished
SECRET = "bench-secret-" + "x" * 20
ENVIRONMENT = {
    "Q_WORKERS": "2",
    # A "slow" answer (3 s) times out (1.5 s): the outcome of the POST is unknown, and the sandbox creates the order
    # after the lookup that follows. The lookup before the resend finds it as long as the resend waits longer than
    # Visma may still take: here 1.5 + 3 s > 3 s, in production 30 s read timeout + 30 s first backoff.
    "VISMA_READ_TIMEOUT": "1.5",
    "ORDER_BACKOFF_SECONDS": "3",
    "ORDER_MAX_ATTEMPTS": "5",
    "CUSTOMER_SYNC_MINUTES": "600",
}
ORDERS_PATH = "/api/v3/SalesOrders"
FAULTS = [  # each fires independently: together about 26% of order requests (POSTs and reconciliation lookups)
    {"path": ORDERS_PATH, "kind": "accept_then_drop", "method": "POST", "probability": 0.08},
    {"path": ORDERS_PATH, "kind": "500", "probability": 0.06},
    {"path": ORDERS_PATH, "kind": "503", "probability": 0.06},
    {"path": ORDERS_PATH, "kind": "429", "probability": 0.05, "retry_after": 1},
    {"path": ORDERS_PATH, "kind": "slow", "probability": 0.05, "delay": 3},
]


@dataclass
class Outcome:
    orders: int
    submitted: int = 0
    failed: int = 0
    unfinished: int = 0
    duplicates: int = 0
    lost: int = 0
    failed_but_in_visma: int = 0
    seconds: float = 0.0
    bare_seconds: float = 0.0
    kills: int = 0
    faulted: Counter = field(default_factory=Counter)
    requests: int = 0
    duplicated: list[str] = field(default_factory=list)
    folder: Path | None = None

    @property
    def throughput(self) -> float:
        return self.submitted / self.seconds if self.seconds else 0.0

    @property
    def bare_throughput(self) -> float:
        return self.orders / self.bare_seconds if self.bare_seconds else 0.0


class Cluster:
    """`manage.py qcluster` in its own process group, so SIGKILL takes the sentinel, pusher and workers at once."""

    def __init__(self, log: Path):
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env=dict(os.environ),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def prepare(sandbox: Sandbox):
    """Register the sandbox's tenant and fetch its customers, as staff would before building orders."""
    from sandbox.seed import TENANT_FULL
    from tenants import sync
    from tenants.customer_models import Customer, CustomerSync
    from tenants.demo import register_sandbox

    tenant = next(t for t in register_sandbox(sandbox.base_url, SECRET) if str(t.tenant_id) == TENANT_FULL)
    run = sync.start_sync(tenant, trigger=CustomerSync.Trigger.COMMAND, enqueue=False)
    assert sync.run_sync(run.pk).outcome == CustomerSync.Outcome.SUCCEEDED
    customers = list(Customer.objects.filter(tenant=tenant, status="Active", removed_at__isnull=True))
    return tenant, customers


def make_orders(tenant, customers, count: int) -> list[int]:
    """Draft orders of one to three lines, spread over the tenant's active customers."""
    from decimal import Decimal

    from orders.models import SalesOrder, SalesOrderLine

    orders = SalesOrder.objects.bulk_create(
        SalesOrder(tenant=tenant, customer=customers[i % len(customers)], customer_order=f"SOAK-{i:05d}")
        for i in range(count)
    )
    items = ["STOCK-100", "STOCK-200", "STOCK-300", "STOCK-400", "STOCK-600"]
    SalesOrderLine.objects.bulk_create(
        SalesOrderLine(
            order=order,
            position=position,
            inventory_id=items[(i + position) % len(items)],
            quantity=Decimal(1 + (i + position) % 7),
            unit_price=Decimal("99.50"),
        )
        for i, order in enumerate(orders)
        for position in range(1, 2 + i % 3)
    )
    return [order.pk for order in orders]


def bare_post_loop(sandbox: Sandbox, order_ids: list[int]) -> float:
    """The floor: a token, then the same POST bodies one after another with plain requests; nothing recorded."""
    from orders import payload
    from orders.models import SalesOrder
    from sandbox.seed import DEMO_CLIENT_ID, SCOPE_WRITE, TENANT_FULL

    bodies = [
        payload.build(order)
        for order in SalesOrder.objects.filter(pk__in=order_ids).select_related("customer").prefetch_related("lines")
    ]
    started = time.perf_counter()
    session = requests.Session()
    form = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": SECRET}
    form |= {"scope": SCOPE_WRITE, "tenant_id": TENANT_FULL}
    token = session.post(sandbox.token_url, data=form, timeout=10).json()["access_token"]
    for body in bodies:
        response = session.post(
            f"{sandbox.api_url}{ORDERS_PATH}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert response.status_code == 201, response.text
    return time.perf_counter() - started


def run(count: int = ORDERS, *, faults: list[dict], kills: int, label: str) -> Outcome:
    """One portal run in a fresh database: bare loop first, then the same orders through the cluster."""
    folder = configure_django("bench.cluster_settings", **ENVIRONMENT)
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # retries of faulted lookups are expected here
    from django_q.models import OrmQ

    from orders import services
    from orders.models import SalesOrder

    State = SalesOrder.State
    outcome = Outcome(orders=count, folder=folder)
    with sandbox_process(SECRET) as sandbox:
        tenant, customers = prepare(sandbox)
        order_ids = make_orders(tenant, customers, count)
        print(f"{label}: bare loop of {count:,} POSTs…", file=sys.stderr, flush=True)
        outcome.bare_seconds = bare_post_loop(sandbox, order_ids)
        sandbox.control("POST", "reset")
        sandbox.control("POST", "faults", faults)
        cluster = Cluster(folder / "qcluster.log")
        print(f"{label}: {count:,} orders through the cluster (log: {cluster.log})…", file=sys.stderr, flush=True)
        cluster.start()
        started = time.monotonic()
        try:
            for order in SalesOrder.objects.filter(pk__in=order_ids).only("pk", "state"):
                services.queue(order)
            kill_at = [count * (k + 1) // (kills + 1) for k in range(kills)]
            last_sweep = time.monotonic()
            while time.monotonic() - started < TIME_LIMIT:
                states = Counter(SalesOrder.objects.filter(pk__in=order_ids).values_list("state", flat=True))
                finished = states[State.SUBMITTED] + states[State.FAILED]
                if kill_at and finished >= kill_at[0]:
                    kill_at.pop(0)
                    cluster.kill()
                    outcome.kills += 1
                    print(f"{label}: SIGKILL of the cluster at {finished:,} finished orders", file=sys.stderr)
                    time.sleep(1)
                    cluster.start()
                if finished == count:
                    break
                if not OrmQ.objects.exists() and time.monotonic() - last_sweep > 2:
                    services.sweep()  # what the one-minute schedule does, sooner
                    last_sweep = time.monotonic()
                time.sleep(0.25)
            outcome.seconds = time.monotonic() - started
        finally:
            cluster.stop()
        sandbox.control("DELETE", "faults")
        received = Counter(o["customerRefNo"] for o in sandbox.control("GET", "orders")["orders"])
        log = sandbox.control("GET", "requests")["requests"]
    outcome.requests = sum(1 for entry in log if entry["path"].startswith(ORDERS_PATH))
    outcome.faulted = Counter(
        "dropped" if entry["status"] is None else str(entry["status"])
        for entry in log
        if entry["path"].startswith(ORDERS_PATH) and (entry["status"] is None or entry["status"] in (429, 500, 503))
    )
    orders = SalesOrder.objects.filter(pk__in=order_ids)
    outcome.submitted = orders.filter(state=State.SUBMITTED).count()
    outcome.failed = orders.filter(state=State.FAILED).count()
    outcome.unfinished = orders.filter(state__in=[State.QUEUED, State.SUBMITTING]).count()
    references = dict(orders.values_list("reference", "state"))
    outcome.duplicated = [ref for ref, n in received.items() if ref in references and n > 1]
    outcome.duplicates = sum(received[ref] - 1 for ref in outcome.duplicated)
    outcome.lost = sum(1 for ref, state in references.items() if state == State.SUBMITTED and ref not in received)
    outcome.failed_but_in_visma = sum(
        1 for ref, state in references.items() if state == State.FAILED and ref in received
    )
    return outcome


def main() -> list[tuple[str, str]]:
    result = run(faults=FAULTS, kills=KILLS, label="soak")
    faulted = sum(result.faulted.values())
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.faulted.items()))
    name = f"soak, {result.orders:,} orders, ~26% faults, {result.kills} cluster SIGKILLs"
    broken = result.duplicates or result.unfinished or result.lost or result.failed_but_in_visma
    return [
        (
            name,
            ("FAILED: " if broken else "")
            + f"submitted {result.submitted:,}, failed {result.failed}, duplicates in Visma {result.duplicates}, "
            f"unfinished {result.unfinished}, lost {result.lost}"
            + (
                f", failed here but created in Visma {result.failed_but_in_visma}" if result.failed_but_in_visma else ""
            ),
        ),
        (
            "soak: faulted order requests (besides slow answers)",
            f"{faulted:,} of {result.requests:,} ({kinds})",
        ),
        (
            "soak: throughput vs bare POST loop",
            f"{result.throughput:.1f} vs {result.bare_throughput:.1f} orders/s "
            f"({result.throughput / result.bare_throughput:.2f}x), {result.seconds:.0f} s in all",
        ),
    ]


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<60} {value}")
