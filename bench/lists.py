"""List pages with 100,000 rows: server time (median and p95 of 20 requests through Django's test client) and queries.

Customers list (`tenants:customer-list`) with 100,000 customers and the orders list (`orders:order-list`) with
100,000 orders of one line each, spread over two tenants and every state.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal

from bench.setup import configure_django, summary

ROWS = 100_000
REQUESTS = 20


def fill(tenants) -> None:
    from orders.models import SalesOrder, SalesOrderLine
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
    for start in range(0, ROWS, 10_000):
        orders = SalesOrder.objects.bulk_create(
            (
                SalesOrder(
                    tenant=customers[i % len(customers)].tenant,
                    customer=customers[i % len(customers)],
                    customer_order=f"PO-{i:06d}",
                    state=rng.choice(states),
                    reference=f"VOP-BENCH-{i:07d}",
                )
                for i in range(start, start + 10_000)
            ),
            batch_size=2000,
        )
        SalesOrderLine.objects.bulk_create(
            (
                SalesOrderLine(
                    order=o, position=1, inventory_id="STOCK-100", quantity=Decimal(2), unit_price=Decimal(9)
                )
                for o in orders
            ),
            batch_size=2000,
        )


def measure(client, url: str, params: dict) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, counts = [], []
    for _ in range(REQUESTS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, params)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        counts.append(len(queries))
    return times, max(counts)


def main() -> list[tuple[str, str]]:
    configure_django()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

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
    rows = []
    pages = [
        ("customers list", reverse("tenants:customer-list"), "first page", {}),
        ("customers list", reverse("tenants:customer-list"), "search 'kunde 99'", {"q": "kunde 99"}),
        ("customers list", reverse("tenants:customer-list"), "page 1,000", {"page": 1000}),
        ("orders list", reverse("orders:order-list"), "first page", {}),
        ("orders list", reverse("orders:order-list"), "search 'PO-0999'", {"q": "PO-0999"}),
        (
            "orders list",
            reverse("orders:order-list"),
            "state failed, one tenant",
            {"state": "failed", "tenant": tenants[0].pk},
        ),
        ("orders list", reverse("orders:order-list"), "page 1,000", {"page": 1000}),
    ]
    for page_name, url, label, params in pages:
        times, queries = measure(client, url, params)
        rows.append((f"{page_name}, {ROWS:,} rows, {label}", f"{summary(times)}, {queries} queries"))
    return rows


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<70} {value}")
