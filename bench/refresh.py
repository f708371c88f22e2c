"""Order refresh of 10,000 followed orders in one tenant vs a bare loop of the same paged list GETs.

The sandbox (its own process) holds 10,000 orders the portal submitted; the portal knows them all as submitted. Three
portal runs are measured, each against a bare loop of the GETs it makes:
- the first refresh, which reads every order (none was read before) and stores Visma's status and totals for each;
- a refresh after Visma changed 100 of them (put on hold): only those, and what changed within the overlap the portal
  reads again before its newest change seen, are listed again;
- a refresh when nothing changed: one list call that returns nothing.
The sandbox serves at most 500 orders a list page (its default, below the 1,000 the portal asks for): the portal
learns that from its first page, the bare loop asks for 500 from the start. Calls are counted in the sandbox's
request log (list GETs only; the token comes from the cache after the first run). Runs alternate (a bare loop, then
the portal) and the ratio is the median of the per-pair ratios.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

import requests

from bench.setup import configure_django, sandbox_process

ORDERS = 10_000
CHANGED = 100
PAIRS = 5
SECRET = "bench-secret-" + "r" * 20
LIST_PATH = "/api/v3/SalesOrders"
SANDBOX_PAGE = 500  # the sandbox's SalesOrders page cap (sandbox.state.SALES_ORDER_PAGE_CAP): the portal ends up there


def token(sandbox, tenant_id: str, scope: str) -> str:
    from sandbox.seed import DEMO_CLIENT_ID

    form = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": SECRET}
    form |= {"scope": scope, "tenant_id": tenant_id}
    return requests.post(sandbox.token_url, data=form, timeout=10).json()["access_token"]


def create_orders(sandbox, tenant_id: str, customers: list[str]) -> list[tuple[str, str, str]]:
    """POST the orders to the sandbox as the portal would have: (type, number, reference) of each."""
    from sandbox.seed import SCOPE_READ, SCOPE_WRITE

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token(sandbox, tenant_id, f'{SCOPE_READ} {SCOPE_WRITE}')}"
    created = []
    for index in range(ORDERS):
        reference = f"VOP-BENCH-{index:07d}"
        body = {
            "type": "SO",
            "customer": {"id": customers[index % len(customers)], "refNo": reference},
            "orderLines": [{"inventoryId": "STOCK-100", "quantity": 2, "unitPrice": 50}],
        }
        answer = session.post(f"{sandbox.api_url}{LIST_PATH}", json=body, timeout=30)
        assert answer.status_code == 201, answer.text
        order_type, number = answer.headers["Location"].rstrip("/").split("/")[-2:]
        created.append((order_type, number, reference))
    return created


def bare_list_loop(sandbox, tenant_id: str, since: datetime, page_size: int) -> tuple[float, int]:
    """The floor: a token, then every page of the orders modified since `since`, in pages of `page_size` (the size
    the sandbox serves), storing nothing."""
    from sandbox.seed import SCOPE_READ

    started = time.perf_counter()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token(sandbox, tenant_id, SCOPE_READ)}"
    page_index, calls = 0, 0
    while True:
        params = {
            "modifiedSince": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "orderBy": "created asc",
            "pageSize": page_size,
            "pageIndex": page_index,
        }
        body = session.get(f"{sandbox.api_url}{LIST_PATH}", params=params, timeout=30).json()
        calls += 1
        if not body.get("nextPage") or not body.get("value"):
            return time.perf_counter() - started, calls
        page_index += 1


def list_calls(sandbox) -> int:
    return sum(
        1
        for entry in sandbox.control("GET", "requests")["requests"]
        if entry["method"] == "GET" and entry["path"] == LIST_PATH
    )


def main() -> list[tuple[str, str]]:
    configure_django()
    from django.utils import timezone

    from orders import refresh
    from orders.models import SalesOrder
    from sandbox.seed import TENANT_FULL
    from tenants import sync
    from tenants.customer_models import Customer, CustomerSync
    from tenants.demo import register_sandbox

    rows: list[tuple[str, str]] = []
    with sandbox_process(SECRET, customers=40) as sandbox:
        tenant = next(t for t in register_sandbox(sandbox.base_url, SECRET) if str(t.tenant_id) == TENANT_FULL)
        sync.run_sync(sync.start_sync(tenant, trigger=CustomerSync.Trigger.COMMAND, enqueue=False).pk)
        customers = {c.number: c for c in Customer.objects.filter(tenant=tenant, status="Active")}
        began = timezone.now() - timedelta(minutes=1)
        created = create_orders(sandbox, TENANT_FULL, sorted(customers))
        numbers = sorted(customers)
        SalesOrder.objects.bulk_create(
            (
                SalesOrder(
                    tenant=tenant,
                    customer=customers[numbers[index % len(numbers)]],
                    reference=reference,
                    state=SalesOrder.State.SUBMITTED,
                    visma_type=order_type,
                    visma_number=number,
                    submitted_at=began,
                )
                for index, (order_type, number, reference) in enumerate(created)
            ),
            batch_size=2000,
        )
        page_size = SANDBOX_PAGE

        def portal_run() -> tuple[float, int, object]:
            before = list_calls(sandbox)
            started = time.perf_counter()
            result = refresh.refresh_tenant(tenant)
            elapsed = time.perf_counter() - started
            tenant.refresh_from_db()
            return elapsed, list_calls(sandbox) - before, result

        bare_first, bare_first_calls = bare_list_loop(sandbox, TENANT_FULL, began - timedelta(minutes=5), page_size)
        first, first_calls, first_result = portal_run()
        followed = SalesOrder.objects.filter(tenant=tenant).exclude(visma_status="").count()
        rows.append(
            (
                f"order refresh, {ORDERS:,} followed orders, first run (reads every order): bare list loop / portal",
                f"{bare_first:.3f} s ({bare_first_calls} calls) / {first:.3f} s ({first_calls} calls); "
                f"{first / bare_first:.2f}x; {followed:,} orders now show Visma's status",
            )
        )
        # Later runs re-read what changed within refresh.OVERLAP before the newest change seen: let the creations fall
        # out of that window, as they would in daily use, before measuring.
        time.sleep(refresh.OVERLAP.total_seconds() + 1)
        sandbox.control("POST", f"orders/{created[-1][0]}/{created[-1][1]}", {"description": "moved on"})
        portal_run()
        ratios, portal_times, bare_times, calls = [], [], [], []
        for round_number in range(PAIRS):
            for type_and_number in created[round_number * CHANGED : (round_number + 1) * CHANGED]:
                sandbox.control("POST", f"orders/{type_and_number[0]}/{type_and_number[1]}", {"status": "Hold"})
            since = tenant.orders_seen_until - refresh.OVERLAP
            bare, _ = bare_list_loop(sandbox, TENANT_FULL, since, page_size)
            portal, portal_calls, _ = portal_run()
            bare_times.append(bare)
            portal_times.append(portal)
            calls.append(portal_calls)
            ratios.append(portal / bare)
        on_hold = SalesOrder.objects.filter(tenant=tenant, visma_status="Hold").count()
        rows.append(
            (
                f"order refresh after Visma changed {CHANGED} of {ORDERS:,} orders (median of {PAIRS}): bare / portal",
                f"{statistics.median(bare_times) * 1000:.1f} / {statistics.median(portal_times) * 1000:.1f} ms, "
                f"{statistics.median(ratios):.2f}x; {max(calls)} list call(s) a run; {on_hold:,} orders on hold",
            )
        )
        quiet = [portal_run() for _ in range(PAIRS)]
        rows.append(
            (
                f"order refresh with nothing changed, {ORDERS:,} followed orders (median of {PAIRS})",
                f"{statistics.median(q[0] for q in quiet) * 1000:.1f} ms, {max(q[1] for q in quiet)} list call(s)",
            )
        )
        rows.append(("order refresh, first run as the portal reports it", first_result.summary()))
    return rows


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<100} {value}")
