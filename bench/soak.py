"""Soak: 1,000 orders through a real django-q2 cluster while the sandbox misbehaves and the cluster is killed.

The sandbox serves HTTPS (its own CA, which the portal trusts through VISMA_CA_BUNDLE). About 30% of Sales Order
API requests are faulted (accept_then_drop, 500, 503, 429, slow answers that time out, TLS garbage after the work is
done, orders created up to twice the read timeout after the connection was dropped), the whole cluster (its process
group) gets SIGKILL three times and is started again, and once Visma is down (connections refused) for longer than
all of an order's backoffs together. When the queue is empty the sweeper service is called directly instead of
waiting for its one-minute schedule. It then reports what Visma (the sandbox) received: duplicates by
`customerRefNo`, orders left unfinished, orders submitted here but absent from Visma (or there under another number),
POSTs sent again sooner than ORDER_RESEND_AFTER_SECONDS after a lost answer, and failed orders must all be 0 (an
order may only fail by using up its attempts on POSTs that were all answered 500 or 503, about once in 70 runs).
Throughput is compared with a bare loop of the same POSTs in the same run. The portal's database and broker (SQLite
(WAL) with the ORM broker unless DATABASE_URL / REDIS_URL say otherwise, see bench/setup.py); loopback only.

Also the engine of `bench/orders.py` (the same run with no faults and no kills) and of `bench/scaleout.py` (two
clusters as separate hosts on PostgreSQL + Redis).
"""

from __future__ import annotations

import itertools
import logging
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.cluster import Cluster, waiting_tasks
from bench.setup import Sandbox, configure_django, sandbox_process

ORDERS = 1000
KILLS = 3
TIME_LIMIT = 900  # seconds for the whole portal run; what is not finished by then is reported as unfinished
SECRET = "bench-secret-" + "x" * 20
READ_TIMEOUT = 1.5
BACKOFF = 3
MAX_ATTEMPTS = 5
RESEND_AFTER = 20
ENVIRONMENT = {
    "Q_WORKERS": "2",
    # A "slow" answer (3 s) times out (1.5 s), and a commit_after POST is dropped at once and its order created up
    # to 3 s later: the outcome of the POST is unknown and the order may appear after the lookups that follow. The
    # order is only looked up until its POST is ORDER_RESEND_AFTER_SECONDS old (20 s here, 10 minutes in production),
    # far longer than the sandbox ever takes, so none may be sent twice.
    "VISMA_READ_TIMEOUT": str(READ_TIMEOUT),
    "ORDER_BACKOFF_SECONDS": str(BACKOFF),
    "ORDER_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
    "ORDER_RESEND_AFTER_SECONDS": str(RESEND_AFTER),
    "VISMA_UNREACHABLE_RETRY_SECONDS": "5",
    # One task's calls (a lookup, the POST, a lookup) end within 3 x 5 s, below the cluster's 20 s task timeout
    # (bench/cluster_settings.py), as production's 3 x 60 s are below its worker timeout.
    "VISMA_CALL_DEADLINE_SECONDS": "5",
    "CUSTOMER_SYNC_MINUTES": "600",
}
ORDERS_PATH = "/api/v3/SalesOrders"
FAULTS = [  # each fires independently, the first that does counts: ~32% of POSTs and ~23% of lookups are faulted
    {"path": ORDERS_PATH, "kind": "accept_then_drop", "method": "POST", "probability": 0.08},
    {"path": ORDERS_PATH, "kind": "500", "probability": 0.06},
    {"path": ORDERS_PATH, "kind": "503", "probability": 0.06},
    {"path": ORDERS_PATH, "kind": "429", "probability": 0.05, "retry_after": 1},
    {"path": ORDERS_PATH, "kind": "slow", "probability": 0.05, "delay": 2 * READ_TIMEOUT},
    # The work is done, then bytes that are not TLS come back instead of the answer (POSTs and lookups).
    {"path": ORDERS_PATH, "kind": "tls_garbage", "probability": 0.04},
    # The connection is dropped at once and the order created later: half, once and twice the read timeout.
    *(
        {"path": ORDERS_PATH, "kind": "commit_after", "method": "POST", "probability": 0.01, "delay": delay}
        for delay in (READ_TIMEOUT / 2, READ_TIMEOUT, 2 * READ_TIMEOUT)
    ),
]
# Visma down (connections refused, open ones cut) once, when this share of the orders is finished, for longer than
# an order's backoffs between its attempts together (3 + 6 + 12 + 24 s) plus the resend window: were an unreachable
# Visma counted as failed attempts, orders would fail during it.
OUTAGE_AT = 0.4
OUTAGE_SECONDS = sum(BACKOFF * 2**n for n in range(MAX_ATTEMPTS - 1)) + RESEND_AFTER + 10


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
    mismatched: int = 0
    failures: Counter = field(default_factory=Counter)
    outages: int = 0
    outage_at: int = 0
    paused_after: float | None = None
    unreachable_incidents: int = 0
    open_incidents: int = 0
    not_sent: int = 0
    gave_up: int = 0
    lost_answers: Counter = field(default_factory=Counter)
    resends: int = 0
    shortest_resend: float | None = None
    timed_out_tasks: Counter = field(default_factory=Counter)
    folder: Path | None = None

    @property
    def throughput(self) -> float:
        return self.submitted / self.seconds if self.seconds else 0.0

    @property
    def bare_throughput(self) -> float:
        return self.orders / self.bare_seconds if self.bare_seconds else 0.0


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
    from tenants.visma import encode_json

    bodies = [
        payload.build(order)
        for order in SalesOrder.objects.filter(pk__in=order_ids).select_related("customer").prefetch_related("lines")
    ]
    started = time.perf_counter()
    session = requests.Session()
    session.trust_env = False  # as the portal's: REQUESTS_CA_BUNDLE in the environment would override `verify`
    session.verify = sandbox.verify
    form = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": SECRET}
    form |= {"scope": SCOPE_WRITE, "tenant_id": TENANT_FULL}
    token = session.post(sandbox.token_url, data=form, timeout=10).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for body in bodies:  # written as the portal writes it: prices are Decimals, sent as the numbers they are
        response = session.post(f"{sandbox.api_url}{ORDERS_PATH}", data=encode_json(body), headers=headers, timeout=30)
        assert response.status_code == 201, response.text
    return time.perf_counter() - started


def run(
    count: int = ORDERS,
    *,
    faults: list[dict],
    kills: int,
    label: str,
    outage: float = 0,
    tls: bool = False,
    hosts: int = 1,
) -> Outcome:
    """One portal run in a fresh database: bare loop first, then the same orders through the cluster.

    `outage`: seconds the sandbox refuses connections, once, when OUTAGE_AT of the orders are finished. `hosts`:
    clusters started as separate hosts (process groups, Q_WORKERS workers each) sharing the broker; the kills go to
    the last one, which is started again each time."""
    folder = configure_django("bench.cluster_settings", sandbox_tls=tls, **ENVIRONMENT)
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # retries of faulted lookups are expected here
    from orders import services
    from orders.models import SalesOrder, SubmissionAttempt
    from tenants.models import Tenant
    from tenants.notifications import Incident

    State = SalesOrder.State
    outcome = Outcome(orders=count, folder=folder)
    with sandbox_process(SECRET, tls=tls) as sandbox:
        tenant, customers = prepare(sandbox)
        order_ids = make_orders(tenant, customers, count)
        print(f"{label}: bare loop of {count:,} POSTs…", file=sys.stderr, flush=True)
        outcome.bare_seconds = bare_post_loop(sandbox, order_ids)
        sandbox.control("POST", "reset")
        sandbox.control("POST", "faults", faults)
        clusters = [Cluster(folder / f"qcluster-{n}.log") for n in range(1, hosts + 1)]
        cluster = clusters[-1]
        where = f"{hosts} hosts" if hosts > 1 else "the cluster"
        print(f"{label}: {count:,} orders through {where} (logs: {folder})…", file=sys.stderr, flush=True)
        for each in clusters:
            each.start()
        started = time.monotonic()
        try:
            for order in SalesOrder.objects.filter(pk__in=order_ids).only("pk", "state"):
                services.queue(order)
            kill_at = [count * (k + 1) // (kills + 1) for k in range(kills)]
            outage_at, outage_started = (int(count * OUTAGE_AT) if outage else None), None
            last_sweep = time.monotonic()
            while time.monotonic() - started < TIME_LIMIT:
                states = Counter(SalesOrder.objects.filter(pk__in=order_ids).values_list("state", flat=True))
                finished = states[State.SUBMITTED] + states[State.FAILED]
                if outage_at is not None and finished >= outage_at:
                    outage_at, outage_started = None, time.monotonic()
                    sandbox.refuse_for(outage)
                    outcome.outages, outcome.outage_at = 1, finished
                    print(f"{label}: Visma down for {outage:.0f} s at {finished:,} finished orders", file=sys.stderr)
                paused = Tenant.objects.filter(pk=tenant.pk, unreachable_since__isnull=False)
                if outage_started and outcome.paused_after is None and paused.exists():
                    outcome.paused_after = time.monotonic() - outage_started
                if kill_at and finished >= kill_at[0]:
                    kill_at.pop(0)
                    cluster.kill()
                    outcome.kills += 1
                    killed = f"host {hosts}" if hosts > 1 else "the cluster"
                    print(f"{label}: SIGKILL of {killed} at {finished:,} finished orders", file=sys.stderr)
                    time.sleep(1)
                    cluster.start()
                if finished == count:
                    break
                if not waiting_tasks() and time.monotonic() - last_sweep > 2:
                    services.sweep()  # what the one-minute schedule does, sooner
                    last_sweep = time.monotonic()
                time.sleep(0.25)
            outcome.seconds = time.monotonic() - started
        finally:
            for each in clusters:
                each.stop()
        if outage_started:  # the control endpoint is down with the rest until then
            time.sleep(max(0.0, outage_started + outage + 1 - time.monotonic()))
        sandbox.control("DELETE", "faults")
        in_visma = sandbox.control("GET", "orders")["orders"]
        received = Counter(o["customerRefNo"] for o in in_visma)
        numbers: dict[str, set] = {}
        for o in in_visma:
            numbers.setdefault(o["customerRefNo"], set()).add((o["type"], o["orderId"]))
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
    outcome.mismatched = sum(
        1
        for ref, kind, number in orders.filter(state=State.SUBMITTED).values_list(
            "reference", "visma_type", "visma_number"
        )
        if ref in numbers and (kind, number) not in numbers[ref]
    )
    outcome.failures = Counter(
        error[:160] for error in orders.filter(state=State.FAILED).values_list("last_error", flat=True)
    )
    incidents = Incident.objects.filter(kind=Incident.Kind.UNREACHABLE)
    outcome.unreachable_incidents = incidents.count()
    outcome.open_incidents = incidents.filter(closed_at__isnull=True).count()
    outcome.not_sent = SubmissionAttempt.objects.filter(order__in=orders, kind="post", outcome="not sent").count()
    outcome.failed_but_in_visma = sum(
        1 for ref, state in references.items() if state == State.FAILED and ref in received
    )
    posts: dict[int, list] = {}
    for order_id, started_at, result, status, message in (
        SubmissionAttempt.objects.filter(order__in=orders, kind="post")
        .order_by("started_at")
        .values_list("order_id", "started_at", "outcome", "status", "message")
    ):
        posts.setdefault(order_id, []).append((started_at, result, status))
        if result == "unknown":
            outcome.lost_answers[_lost_answer_kind(status, message)] += 1
    for timeline in posts.values():
        for (lost_at, result, _), (resent_at, _, _) in itertools.pairwise(timeline):
            if result == "unknown":
                gap = (resent_at - lost_at).total_seconds()
                outcome.resends += 1
                outcome.shortest_resend = min(gap, outcome.shortest_resend or gap)
    outcome.gave_up = sum(  # the documented limit: every POST answered 500 or 503, so none can be in Visma
        1
        for order_id, error in orders.filter(state=State.FAILED).values_list("pk", "last_error")
        if error.startswith("Gave up after")
        and all(result == "unknown" and status in (500, 503) for _, result, status in posts.get(order_id, []))
    )
    log_lines = (line for log in folder.glob("qcluster-*.log") for line in log.read_text(errors="replace").splitlines())
    for line in log_lines:
        if "exceeded maximum timeout" in line and (task := re.search(r"Failed '([^']+)'", line)):
            outcome.timed_out_tasks[task[1]] += 1
    return outcome


def _lost_answer_kind(status: int | None, message: str) -> str:
    """How a POST's answer was lost, from its line on the order's timeline."""
    if status:
        return str(status)
    if "closed the connection" in message:
        return "reset"
    if "secure connection" in message:
        return "TLS error"
    if "in time" in message:
        return "timed out"
    if "worker stopped" in message:
        return "worker killed"
    return "other"


def main() -> list[tuple[str, str]]:
    result = run(faults=FAULTS, kills=KILLS, label="soak", outage=OUTAGE_SECONDS, tls=True)
    where = services_used()
    return report(
        result,
        f"soak ({where}), {result.orders:,} orders over HTTPS, ~30% faults, {result.kills} cluster SIGKILLs, "
        "Visma down once",
        "soak",
    )


def services_used() -> str:
    """Which database and broker this run used, for the report."""
    from django.conf import settings

    database = "PostgreSQL" if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else "SQLite"
    return f"{database} + {'Redis' if settings.REDIS_URL else 'ORM'} broker"


def report(result: Outcome, name: str, prefix: str) -> list[tuple[str, str]]:
    """The soak's rows; the first starts with FAILED when an order was duplicated, left unfinished or lost, …"""
    faulted = sum(result.faulted.values())
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.faulted.items()))
    broken = (
        result.duplicates
        or result.unfinished
        or result.lost
        or result.mismatched
        or result.failed > result.gave_up
        or result.failed_but_in_visma
        or result.outages != 1
        or (result.shortest_resend is not None and result.shortest_resend < RESEND_AFTER)
        or result.open_incidents
    )
    rows = [
        (
            name,
            ("FAILED: " if broken else "")
            + f"submitted {result.submitted:,}, failed {result.failed}"
            + (f" ({result.gave_up} after {MAX_ATTEMPTS} POSTs all answered 5xx)" if result.gave_up else "")
            + f", duplicates in Visma {result.duplicates}, "
            f"unfinished {result.unfinished}, lost {result.lost}"
            + (f", under another number in Visma {result.mismatched}" if result.mismatched else "")
            + (
                f", failed here but created in Visma {result.failed_but_in_visma}" if result.failed_but_in_visma else ""
            ),
        ),
        (
            f"{prefix}: faulted order requests (besides slow answers; dropped = reset, TLS garbage or committed later)",
            f"{faulted:,} of {result.requests:,} ({kinds})",
        ),
        (
            f"{prefix}: POSTs whose answer was lost (looked up; sent again only after ORDER_RESEND_AFTER_SECONDS)",
            f"{sum(result.lost_answers.values()):,} ("
            + ", ".join(f"{kind} {n}" for kind, n in result.lost_answers.most_common())
            + f"); {result.resends} sent again, the soonest {result.shortest_resend or 0:.1f} s after "
            f"(may not be under {RESEND_AFTER} s)",
        ),
        (
            f"{prefix}: Visma down {OUTAGE_SECONDS} s (connections refused) at {result.outage_at:,} finished orders",
            (f"tenant paused after {result.paused_after:.1f} s" if result.paused_after is not None else "never paused")
            + f", {result.not_sent} POSTs not sent (no attempt used), {result.unreachable_incidents} unreachable "
            f"incident(s), {result.open_incidents} still open",
        ),
        (
            f"{prefix}: throughput vs bare POST loop",
            f"{result.throughput:.1f} vs {result.bare_throughput:.1f} orders/s "
            f"({result.throughput / result.bare_throughput:.2f}x), {result.seconds:.0f} s in all",
        ),
    ]
    if result.timed_out_tasks:
        rows.append(
            (
                f"{prefix}: cluster tasks cut by the task timeout (bench/cluster_settings.py)",
                ", ".join(f"{task} {n}" for task, n in result.timed_out_tasks.most_common()),
            )
        )
    rows += [(f"{prefix}: failed order ({n}x)", reason) for reason, n in result.failures.most_common(5)]
    return rows


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<60} {value}")
