"""Customer sync of 10,000 customers from the sandbox (its own process) vs a bare loop of the same paged GETs.

Runs twice: with the sandbox taking pages of up to 1,000 (the portal's page size) and with it refusing anything above
100, Visma's default (the portal falls back and remembers 100). The bare loop always asks for the page size the
portal ends up using. Runs alternate: a bare loop, then a portal sync, and so on; the ratio reported is the median of
the per-pair ratios, which keeps a busy machine from favouring one side. The first portal sync inserts (and, under the
cap, is refused twice before it settles on 100), the later ones update (as daily syncs do): the update path is what
counts.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

import requests

from bench.setup import ROOT, Sandbox, configure_django, free_port

CUSTOMERS = 10_000
PAGE_SIZE = 1000  # the portal's default page size; Visma does not document its maximum
PAGE_CAPS = (1000, 100)  # the sandbox's largest page: the portal's size, then Visma's default
PAIRS = 15
SECRET = "bench-secret-" + "x" * 20


@contextlib.contextmanager
def capped_sandbox(max_page_size: int):
    """The sandbox in its own process, as in bench.setup.sandbox_process, refusing pages above `max_page_size`."""
    port = free_port()
    command = [sys.executable, "manage.py", "visma_sandbox", "--port", str(port), "--customers", str(CUSTOMERS)]
    command += ["--rate-limit", str(10**9), "--max-page-size", str(max_page_size)]
    env = {**os.environ, "VISMA_SANDBOX_CLIENT_SECRET": SECRET}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.2)
            yield Sandbox(port)
        finally:
            process.terminate()
            process.wait(timeout=10)


def bare_paged_gets(sandbox, tenant_id: str, page_size: int) -> float:
    """The floor: fetch a token, then every page with a plain requests loop, storing nothing."""
    from sandbox.seed import DEMO_CLIENT_ID, SCOPE_READ

    started = time.perf_counter()
    session = requests.Session()
    form = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": SECRET}
    form |= {"scope": SCOPE_READ, "tenant_id": tenant_id}
    token = session.post(sandbox.token_url, data=form, timeout=10).json()["access_token"]
    page_index = 0
    while True:
        body = session.get(
            f"{sandbox.api_url}/api/v3/Customers",
            params={"pageSize": page_size, "pageIndex": page_index},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        if not body["nextPage"]:
            break
        page_index += 1
    return time.perf_counter() - started


def measure(cap: int) -> list[tuple[str, str]]:
    from django.core.cache import cache

    from sandbox.seed import TENANT_FULL
    from tenants import sync
    from tenants.customer_models import CustomerSync
    from tenants.demo import register_sandbox
    from tenants.models import ServiceApplication, Tenant

    page_size = min(PAGE_SIZE, cap)
    cache.clear()  # no page size remembered from another run
    Tenant.objects.all().delete()  # nor a customer: the first sync inserts
    ServiceApplication.objects.all().delete()
    with capped_sandbox(cap) as sandbox:
        tenant = next(t for t in register_sandbox(sandbox.base_url, SECRET) if str(t.tenant_id) == TENANT_FULL)

        def portal_sync() -> float:
            run = sync.start_sync(tenant, trigger=CustomerSync.Trigger.COMMAND, enqueue=False)
            started = time.perf_counter()
            result = sync.run_sync(run.pk)
            elapsed = time.perf_counter() - started
            assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
            assert result.fetched == CUSTOMERS, result.fetched
            return elapsed

        bare_paged_gets(sandbox, TENANT_FULL, page_size)  # warm-up
        first = portal_sync()  # inserts every customer
        bare, portal = [], []
        for _ in range(PAIRS):
            bare.append(bare_paged_gets(sandbox, TENANT_FULL, page_size))
            portal.append(portal_sync())
    ratios = sorted(p / b for p, b in zip(portal, bare, strict=True))
    name = f"customer sync, {CUSTOMERS:,} customers, sandbox pages up to {cap:,}"
    return [
        (f"{name}: bare paged GETs of {page_size:,} (median of {PAIRS})", f"{statistics.median(bare):.3f} s"),
        (
            f"{name}: portal, update (median of {PAIRS}); first run inserts",
            f"{statistics.median(portal):.3f} s; {first:.3f} s",
        ),
        (
            f"{name}: ratio portal / bare (goal <= 1.5)",
            f"{statistics.median(ratios):.2f}x (middle half {ratios[PAIRS // 4]:.2f}-{ratios[-1 - PAIRS // 4]:.2f})",
        ),
    ]


def main() -> list[tuple[str, str]]:
    configure_django()
    from django.conf import settings

    settings.CUSTOMER_SYNC_PAGE_SIZE = PAGE_SIZE
    return [row for cap in PAGE_CAPS for row in measure(cap)]


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<90} {value}")
