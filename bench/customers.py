"""Customer sync of 10,000 customers vs a bare loop of the same paged GETs; customers list at 100,000 rows."""

from __future__ import annotations

import time

import requests

from bench.setup import configure_django, summary

CUSTOMERS = 10_000
LIST_ROWS = 100_000
PAGE_SIZE = 1000


def bare_paged_gets(sandbox, tenant_id: str, secret: str) -> float:
    """The floor: fetch a token, then every page with a plain requests loop, storing nothing."""
    from sandbox.seed import DEMO_CLIENT_ID, SCOPE_READ

    started = time.perf_counter()
    session = requests.Session()
    token = session.post(
        sandbox.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": secret,
            "scope": SCOPE_READ,
            "tenant_id": tenant_id,
        },
        timeout=10,
    ).json()["access_token"]
    page_index = 0
    while True:
        body = session.get(
            f"{sandbox.api_url}/api/v3/Customers",
            params={"pageSize": PAGE_SIZE, "pageIndex": page_index},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        if not body["nextPage"]:
            break
        page_index += 1
    return time.perf_counter() - started


def main() -> list[tuple[str, str]]:
    configure_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from sandbox.seed import TENANT_FULL
    from sandbox.server import SandboxServer
    from tenants import sync
    from tenants.customer_models import Customer, CustomerSync
    from tenants.demo import register_sandbox

    settings.CUSTOMER_SYNC_PAGE_SIZE = PAGE_SIZE
    secret = "bench-secret-" + "x" * 20
    rows: list[tuple[str, str]] = []
    print(f"Syncing {CUSTOMERS:,} customers from the sandbox…", flush=True)
    with SandboxServer(port=0, client_secret=secret, customers=CUSTOMERS, rate_limit=10**9) as sandbox:
        tenants = register_sandbox(sandbox.base_url, secret)
        tenant = next(t for t in tenants if str(t.tenant_id) == TENANT_FULL)
        bare_paged_gets(sandbox, TENANT_FULL, secret)  # warm-up
        bare = min(bare_paged_gets(sandbox, TENANT_FULL, secret) for _ in range(2))
        run = sync.start_sync(tenant, trigger=CustomerSync.Trigger.COMMAND, enqueue=False)
        started = time.perf_counter()
        result = sync.run_sync(run.pk)
        portal = time.perf_counter() - started
        assert result.outcome == "succeeded", result.error
        rows.append(("customer sync, 10,000 customers: bare paged GETs", f"{bare:.2f} s"))
        rows.append(("customer sync, 10,000 customers: portal (fetch + upsert)", f"{portal:.2f} s"))
        rows.append(("customer sync ratio portal / bare (goal <= 1.5)", f"{portal / bare:.2f}x"))

    print(f"Filling the database to {LIST_ROWS:,} customers for the list page…", flush=True)
    existing = Customer.objects.count()
    Customer.objects.bulk_create(
        (
            Customer(tenant=tenant, number=f"B{i:07d}", name=f"Bench kunde {i}", status="Active")
            for i in range(LIST_ROWS - existing)
        ),
        batch_size=5000,
    )
    user = get_user_model().objects.create_superuser("bench", password="bench-password-123")
    client = Client()
    client.force_login(user)
    for label, params in (("first page", {}), ("search 'kunde 99'", {"q": "kunde 99"}), ("page 1000", {"page": 1000})):
        times, counts = [], []
        for _ in range(20):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get("/tenants/customers/", params)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200
            counts.append(len(queries))
        rows.append((f"customers list, {LIST_ROWS:,} rows, {label}", f"{summary(times)}, {max(counts)} queries"))
    return rows


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<70} {value}")
