"""Customer sync of 10,000 customers vs a bare loop of the same paged GETs; customers list at 100,000 rows."""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time

import requests

from bench.setup import configure_django, summary

CUSTOMERS = 10_000
LIST_ROWS = 100_000
PAGE_SIZE = 1000
RUNS = 5


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


class _Sandbox:
    def __init__(self, port: int):
        self.base_url = self.api_url = f"http://127.0.0.1:{port}"
        self.token_url = f"{self.base_url}/connect/token"


@contextlib.contextmanager
def sandbox_process(secret: str):
    """The sandbox in its own process, as Visma is: client and server do not share one interpreter."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "VISMA_SANDBOX_CLIENT_SECRET": secret}
    command = [sys.executable, "manage.py", "visma_sandbox", "--port", str(port), "--customers", str(CUSTOMERS)]
    process = subprocess.Popen([*command, "--rate-limit", str(10**9)], env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield _Sandbox(port)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> list[tuple[str, str]]:
    configure_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from sandbox.seed import TENANT_FULL
    from tenants import sync
    from tenants.customer_models import Customer, CustomerSync
    from tenants.demo import register_sandbox

    settings.CUSTOMER_SYNC_PAGE_SIZE = PAGE_SIZE
    secret = "bench-secret-" + "x" * 20
    rows: list[tuple[str, str]] = []
    print(f"Syncing {CUSTOMERS:,} customers from the sandbox…", flush=True)
    with sandbox_process(secret) as sandbox:
        tenants = register_sandbox(sandbox.base_url, secret)
        tenant = next(t for t in tenants if str(t.tenant_id) == TENANT_FULL)
        bare_paged_gets(sandbox, TENANT_FULL, secret)  # warm-up
        bare = statistics.median(bare_paged_gets(sandbox, TENANT_FULL, secret) for _ in range(RUNS))
        portal_runs = []
        for _ in range(RUNS):  # the first run inserts, later runs update: both paths count
            run = sync.start_sync(tenant, trigger=CustomerSync.Trigger.COMMAND, enqueue=False)
            started = time.perf_counter()
            result = sync.run_sync(run.pk)
            portal_runs.append(time.perf_counter() - started)
            assert result.outcome == "succeeded", result.error
        portal = statistics.median(portal_runs)
        rows.append((f"customer sync, 10,000 customers: bare paged GETs (median of {RUNS})", f"{bare:.2f} s"))
        rows.append((f"customer sync, 10,000 customers: portal (median of {RUNS})", f"{portal:.2f} s"))
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
