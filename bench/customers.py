"""Customer sync of 10,000 customers from the sandbox (its own process) vs a bare loop of the same paged GETs.

Runs alternate: a bare loop, then a portal sync, and so on; the ratio reported is the median of the per-pair ratios,
which keeps a busy machine from favouring one side. The first portal sync inserts, the later ones update (as daily
syncs do): the update path is what counts.
"""

from __future__ import annotations

import statistics
import time

import requests

from bench.setup import configure_django, sandbox_process

CUSTOMERS = 10_000
PAGE_SIZE = 1000  # the sandbox's (and the portal's default) largest page; Visma does not document its maximum
PAIRS = 15
SECRET = "bench-secret-" + "x" * 20


def bare_paged_gets(sandbox, tenant_id: str) -> float:
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

    from sandbox.seed import TENANT_FULL
    from tenants import sync
    from tenants.customer_models import CustomerSync
    from tenants.demo import register_sandbox

    settings.CUSTOMER_SYNC_PAGE_SIZE = PAGE_SIZE
    with sandbox_process(SECRET, customers=CUSTOMERS) as sandbox:
        tenant = next(t for t in register_sandbox(sandbox.base_url, SECRET) if str(t.tenant_id) == TENANT_FULL)

        def portal_sync() -> float:
            run = sync.start_sync(tenant, trigger=CustomerSync.Trigger.COMMAND, enqueue=False)
            started = time.perf_counter()
            result = sync.run_sync(run.pk)
            elapsed = time.perf_counter() - started
            assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
            return elapsed

        bare_paged_gets(sandbox, TENANT_FULL)  # warm-up
        first = portal_sync()  # inserts every customer
        bare, portal = [], []
        for _ in range(PAIRS):
            bare.append(bare_paged_gets(sandbox, TENANT_FULL))
            portal.append(portal_sync())
    ratios = sorted(p / b for p, b in zip(portal, bare, strict=True))
    name = f"customer sync, {CUSTOMERS:,} customers"
    return [
        (f"{name}: bare paged GETs (median of {PAIRS})", f"{statistics.median(bare):.3f} s"),
        (
            f"{name}: portal, update (median of {PAIRS}); first run inserts",
            f"{statistics.median(portal):.3f} s; {first:.3f} s",
        ),
        (
            f"{name}: ratio portal / bare (goal <= 1.5)",
            f"{statistics.median(ratios):.2f}x (middle half {ratios[PAIRS // 4]:.2f}-{ratios[-1 - PAIRS // 4]:.2f})",
        ),
    ]


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<70} {value}")
