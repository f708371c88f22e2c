"""List pages at 100,000 rows: server time (median and p95 of 20 requests through Django's test client), queries per
request, and the query plan of each list query (which index it reads).

100,000 customers, 100,000 orders of one line each (spread over two tenants, every state and a year of order dates)
and 100,000 API calls. The database is analysed after filling, as autovacuum would; on PostgreSQL it is also vacuumed
so index-only scans can skip the table. Run on PostgreSQL with `DATABASE_URL=postgres://… python -m bench lists`.
"""

from __future__ import annotations

import random
import re
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

from bench.setup import configure_django, summary

ROWS = 100_000
REQUESTS = 20
LIST_TABLES = ("orders_salesorder", "tenants_customer", "tenants_apicall")


def fill(tenants) -> None:
    from django.utils import timezone

    from orders.models import SalesOrder, SalesOrderLine
    from tenants.api_log import ApiCall
    from tenants.customer_models import Customer

    Customer.objects.bulk_create(
        (
            Customer(tenant=tenants[i % 2], number=f"B{i:07d}", name=f"Bench kunde {i}", status="Active")
            for i in range(ROWS)
        ),
        batch_size=5000,
    )
    customers = list(Customer.objects.filter(number__lt="B0001000").order_by("number"))
    states = [s for s, _ in SalesOrder.State.choices]
    rng = random.Random(7)
    first_day = date(2026, 1, 1)
    for start in range(0, ROWS, 10_000):
        orders = []
        for i in range(start, start + 10_000):
            state = rng.choice(states)
            submitted = state == SalesOrder.State.SUBMITTED
            orders.append(
                SalesOrder(
                    tenant=customers[i % len(customers)].tenant,
                    customer=customers[i % len(customers)],
                    customer_order=f"PO-{i:06d}",
                    state=state,
                    reference=f"VOP-BENCH-{i:07d}",
                    date=first_day + timedelta(days=i % 365),
                    visma_type="SO" if submitted else "",
                    visma_number=f"{i:06d}" if submitted else "",
                    lines_total=Decimal(2 * (i % 500)),
                )
            )
        SalesOrder.objects.bulk_create(orders, batch_size=2000)
        SalesOrderLine.objects.bulk_create(
            (
                SalesOrderLine(
                    order=o, position=1, inventory_id="STOCK-100", quantity=Decimal(2), unit_price=o.lines_total / 2
                )
                for o in orders
            ),
            batch_size=2000,
        )
    now = timezone.now()
    ApiCall.objects.bulk_create(
        (
            ApiCall(
                tenant=tenants[i % 2],
                started_at=now - timedelta(seconds=ROWS - i),
                method="GET",
                path="/api/v3/Customers",
                status=rng.choice((200, 200, 200, 200, 429, 500)),
                duration_ms=rng.randrange(20, 900),
                outcome="ok",
                context=f"customer sync {i // 1000}",
            )
            for i in range(ROWS)
        ),
        batch_size=5000,
    )
    analyse()


def analyse() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in LIST_TABLES:
                cursor.execute(f'VACUUM ANALYZE "{table}"')
        else:
            cursor.execute("ANALYZE")


def measure(client, url: str, params: dict) -> tuple[dict[str, list[float]], str, list[str]]:
    """Wall-clock and CPU time of each request and the time its SQL took, the queries a request makes (and the most
    any made, when a session refresh added some), and the SQL of the list queries of the first request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times: dict[str, list[float]] = {"wall": [], "cpu": [], "sql": []}
    counts, list_sql = [], []
    for attempt in range(REQUESTS):
        with CaptureQueriesContext(connection) as queries:
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get(url, params)
            times["wall"].append(time.perf_counter() - started)
            times["cpu"].append(time.process_time() - cpu)
        assert response.status_code == 200, response.status_code
        times["sql"].append(sum(float(query["time"]) for query in queries.captured_queries))
        counts.append(len(queries))
        if attempt == 0:
            list_sql = [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in LIST_TABLES)]
    usual = statistics.mode(counts)
    return (
        times,
        f"{usual}" if max(counts) == usual else f"{usual} (up to {max(counts)} when the session was refreshed)",
        list_sql,
    )


def plan(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN {sql}")
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return [row[-1] for row in cursor.fetchall()]


def indexes_used(lines: list[str]) -> str:
    """The indexes a plan reads, and any list table it scans whole."""
    text = "\n".join(lines)
    names = re.findall(
        r'(?:USING (?:COVERING )?INDEX|Index (?:Only )?Scan(?: Backward)? using|Bitmap Index Scan on) "?(\w+)', text
    )
    names += [f"{table} (FTS5)" for table in re.findall(r"SCAN (\w+) VIRTUAL TABLE INDEX \d+:M", text)]
    scans = [
        table
        for table in LIST_TABLES
        if re.search(rf"(?:^|\n)\s*(?:->\s*)?(?:SCAN {table}(?! USING)|Seq Scan on {table}\b)", text)
    ]
    used = ", ".join(dict.fromkeys(names)) or "no index"
    return used + (f" (whole-table scan of {', '.join(scans)})" if scans else "")


def main() -> list[tuple[str, str]]:
    configure_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from tenants.models import ServiceApplication, Tenant

    application = ServiceApplication.objects.create(
        name="Bench", client_id="bench", token_url="http://127.0.0.1:9/t", api_url="http://127.0.0.1:9"
    )
    tenants = [
        Tenant.objects.create(application=application, tenant_id=f"00000000-0000-4000-8000-00000000000{n}", name=name)
        for n, name in ((1, "Bench Handel AS"), (2, "Bench Bygg AB"))
    ]
    fill(tenants)
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("bench", password="bench-password-123"))
    one = tenants[0].pk
    pages = [
        ("customers", "/tenants/customers/", "first page", {}),
        ("customers", "/tenants/customers/", "search 'kunde 99'", {"q": "kunde 99"}),
        ("customers", "/tenants/customers/", "search 'B00999'", {"q": "B00999"}),
        ("customers", "/tenants/customers/", "page 1,000", {"page": 1000}),
        (
            "customers",
            "/tenants/customers/",
            "sorted by name (site language), page 1,000",
            {"sort": "name", "page": 1000},
        ),
        ("customers", "/tenants/customers/", "one tenant, by last seen", {"tenant": one, "sort": "-seen"}),
        ("orders", "/orders/", "first page", {}),
        ("orders", "/orders/", "search 'PO-0999'", {"q": "PO-0999"}),
        ("orders", "/orders/", "search 'SO 000123'", {"q": "SO 000123"}),
        ("orders", "/orders/", "state failed, one tenant", {"state": "failed", "tenant": one}),
        ("orders", "/orders/", "page 1,000", {"page": 1000}),
        ("orders", "/orders/", "sorted by reference", {"sort": "reference"}),
        ("orders", "/orders/", "sorted by customer", {"sort": "customer"}),
        ("orders", "/orders/", "sorted by total, highest first", {"sort": "-total"}),
        ("orders", "/orders/", "sorted by state", {"sort": "state"}),
        ("orders", "/orders/", "sorted by Visma number", {"sort": "-visma"}),
        ("orders", "/orders/", "sorted by date, oldest first, page 500", {"sort": "date", "page": 500}),
        ("API calls", "/tenants/api-calls/", "first page", {}),
        ("API calls", "/tenants/api-calls/", "failures, one tenant", {"status": "failures", "tenant": one}),
        ("API calls", "/tenants/api-calls/", "page 1,000", {"page": 1000}),
        ("API calls", "/tenants/api-calls/", "slowest first", {"sort": "-duration"}),
    ]
    rows = []
    for page_name, url, label, params in pages:
        times, queries, list_sql = measure(client, url, params)
        plans = [plan(sql) for sql in list_sql]
        name = f"{page_name} list, {ROWS:,} rows ({connection.vendor}), {label}"
        used = "; ".join(indexes_used(lines) for lines in plans)
        cpu, sql = (statistics.median(times[kind]) * 1000 for kind in ("cpu", "sql"))
        figures = f"{summary(times['wall'])} (CPU median {cpu:.1f} ms, SQL {sql:.1f} ms)"
        rows.append((name, f"{figures}, {queries} queries; reads {used}"))
        print(f"-- {name}", file=sys.stderr)
        for sql, lines in zip(list_sql, plans, strict=True):
            print(f"   {sql[:160]}{'…' if len(sql) > 160 else ''}", file=sys.stderr)
            for line in lines:
                print(f"     {line}", file=sys.stderr)
    return rows


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<80} {value}")
