"""Order import of a 10,000-line CSV (decode, parse, check, create) vs a bare `bulk_create` of the same rows.

Also times the page's upload-to-preview step for the same file. On the 2-core SQLite machine (2026-11-25):
bare 0.47-0.49 s (about 21,000 lines/s), portal 0.87 s (about 11,500 lines/s, 132 queries, nearly all of them
insert batches of SQLite's 999 parameters), ratio 1.8x; the page's check and preview 0.37 s.
"""

from __future__ import annotations

import csv
import io
import statistics
import time
from decimal import Decimal

from bench.setup import configure_django

LINES = 10_000
LINES_PER_ORDER = 5
CUSTOMERS = 500
RUNS = 5


def make_file(prefix: str) -> bytes:
    """A realistic file: semicolons, comma decimals, every column filled, 2,000 orders of 5 lines."""
    from orders import imports

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(imports.COLUMNS)
    for index in range(LINES):
        order = index // LINES_PER_ORDER
        writer.writerow(
            [
                f"{prefix}-{order:05d}",
                f"B{order % CUSTOMERS:05d}",
                "2026-12-01",
                f"Bench order {order}",
                "Open",
                f"STOCK-{100 * (1 + index % 9)}",
                f"Line {index}",
                f"{1 + index % 7},5",
                f"{10 + index % 90},25",
                "HIGH",
            ]
        )
    return out.getvalue().encode("utf-8")


def bare_bulk_create(data: bytes, tenant, customers: dict) -> float:
    """The floor: read the rows with csv and insert them with two plain bulk_creates, checking nothing."""
    from django.db import transaction

    from orders.models import SalesOrder, SalesOrderLine

    started = time.perf_counter()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8")), delimiter=";"))
    orders: dict[str, SalesOrder] = {}
    lines = []
    for row in rows:
        order = orders.get(row["reference"])
        if order is None:
            order = orders[row["reference"]] = SalesOrder(
                tenant=tenant,
                customer=customers[row["customer"]],
                date=row["date"],
                description=row["description"],
                customer_order=row["reference"],
                status=row["status"],
            )
            order.line_count = 0
        order.line_count += 1
        lines.append(
            (
                order,
                SalesOrderLine(
                    position=order.line_count,
                    inventory_id=row["inventory_id"],
                    description=row["line_description"],
                    quantity=Decimal(row["quantity"].replace(",", ".")),
                    unit_price=Decimal(row["unit_price"].replace(",", ".")),
                    tax_category=row["tax_category"],
                ),
            )
        )
    with transaction.atomic():
        SalesOrder.objects.bulk_create(orders.values(), batch_size=1000)
        for order, line in lines:
            line.order = order
        SalesOrderLine.objects.bulk_create([line for _, line in lines], batch_size=1000)
    return time.perf_counter() - started


def main() -> list[tuple[str, str]]:
    configure_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from orders import imports
    from tenants.models import Customer, ServiceApplication, Tenant

    application = ServiceApplication.objects.create(name="Import bench", client_id="import-bench")
    tenant = Tenant.objects.create(
        application=application, tenant_id="00000000-0000-4000-8000-00000000be4c", name="Import bench AS"
    )
    Customer.objects.bulk_create(
        Customer(tenant=tenant, number=f"B{i:05d}", name=f"Bench kunde {i}", status="Active") for i in range(CUSTOMERS)
    )
    customers = {c.number: c for c in Customer.objects.filter(tenant=tenant)}
    user = get_user_model().objects.create_superuser("import-bench", password="bench-password-123")
    print(f"Importing {LINES:,} lines ({LINES // LINES_PER_ORDER:,} orders), {RUNS} runs each…", flush=True)

    bare_bulk_create(make_file("WARM"), tenant, customers)
    bare = statistics.median(bare_bulk_create(make_file(f"BARE{run}"), tenant, customers) for run in range(RUNS))
    portal_times, query_counts = [], []
    for run in range(RUNS):
        data = make_file(f"PORTAL{run}")
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            plan = imports.import_orders(imports.parse(imports.decode(data)), tenant, user)
            portal_times.append(time.perf_counter() - started)
        assert plan.ok, plan.problems[:5]
        query_counts.append(len(queries))
    portal = statistics.median(portal_times)

    client = Client()
    client.force_login(user)
    page_times = []
    for run in range(RUNS):
        upload = io.BytesIO(make_file(f"PAGE{run}"))
        upload.name = "bench.csv"
        started = time.perf_counter()
        response = client.post("/orders/import/", {"action": "upload", "tenant": tenant.pk, "file": upload})
        page_times.append(time.perf_counter() - started)
        assert b"The file is valid" in response.content, response.status_code
    page = statistics.median(page_times)

    return [
        (f"order import, {LINES:,} lines: bare csv + bulk_create (median of {RUNS})", _rate(bare)),
        (
            f"order import, {LINES:,} lines: portal, checked (median of {RUNS})",
            f"{_rate(portal)}, {max(query_counts)} queries",
        ),
        ("order import ratio portal / bare", f"{portal / bare:.2f}x"),
        (f"order import page, {LINES:,}-line upload to preview (median of {RUNS})", f"{page:.2f} s"),
    ]


def _rate(seconds: float) -> str:
    return f"{seconds:.2f} s, {LINES / seconds:,.0f} lines/s"


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<70} {value}")
