"""Fairness between tenants: tenant A queues 300 orders, tenant B 20 orders 2 s later, the sandbox answers every
order POST after 200 ms, 2 workers. B's waiting time (queued to submitted) against the round-robin ideal, and the
total throughput against the ideal.

Round robin between two tenants with backlogs gives B one of the two workers: B's i-th order is submitted i POST
times after B queued it (i = 1…20; median 2.1 s, p95 3.8 s at 200 ms). The whole run ideally takes 320 POST times
/ 2 workers. The POST time is measured in the same run with a bare loop (latency plus the sandbox's own work).
"""

from __future__ import annotations

import statistics

from bench import scenario
from bench.setup import configure_django, percentile, sandbox_process
from bench.soak import make_orders

A_ORDERS = 300
B_ORDERS = 20
B_AFTER = 2.0
LATENCY = 0.2
WORKERS = 2
BARE = 20


def main() -> list[tuple[str, str]]:
    folder = configure_django("bench.cluster_settings", **scenario.ENVIRONMENT)
    scenario.quiet_logs()
    latency = {f"POST {scenario.ORDERS_PATH}": LATENCY}
    with sandbox_process(scenario.SECRET, latency=latency, extra_tenants=(scenario.EXTRA_TENANT,)) as sandbox:
        (tenant_a, customers_a), (tenant_b, customers_b) = scenario.prepare(sandbox, scenario.EXTRA_TENANT)
        post = scenario.bare_posts(sandbox, make_orders(tenant_a, customers_a, BARE)) / BARE
        scenario.fresh_start(sandbox)
        a = scenario.Batch(make_orders(tenant_a, customers_a, A_ORDERS))
        b = scenario.Batch(make_orders(tenant_b, customers_b, B_ORDERS), after=B_AFTER)
        run = scenario.through_cluster(folder, [a, b], workers=WORKERS, label="fairness")
    waited_b = [run.waited[pk] for pk in b.order_ids if pk in run.waited]
    waited_a = [run.waited[pk] for pk in a.order_ids if pk in run.waited]
    ideal_b = [i * post for i in range(1, B_ORDERS + 1)]
    ideal_total = (A_ORDERS + B_ORDERS) * post / WORKERS
    concurrency = scenario.tenant_concurrency()
    name = f"fairness, A {A_ORDERS} orders, B {B_ORDERS} orders {B_AFTER:.0f} s later, {LATENCY * 1000:.0f} ms POSTs"
    rows = [
        (
            f"{name}: B's wait median / p95, portal vs round-robin ideal",
            (
                f"{statistics.median(waited_b):.1f} / {percentile(waited_b, 0.95):.1f} s vs "
                f"{statistics.median(ideal_b):.1f} / {percentile(ideal_b, 0.95):.1f} s: "
                f"{statistics.median(waited_b) / statistics.median(ideal_b):.1f}x / "
                f"{percentile(waited_b, 0.95) / percentile(ideal_b, 0.95):.1f}x (goal median <= 2x)"
                if waited_b
                else "no order of B was submitted"
            )
            + f"; B submitted {len(waited_b)} of {B_ORDERS}",
        ),
        (
            f"{name}: total, portal vs ideal ({WORKERS} workers)",
            f"{run.elapsed:.1f} vs {ideal_total:.1f} s: throughput {ideal_total / run.elapsed:.2f}x of ideal "
            f"(goal >= 0.85x); A's wait median {statistics.median(waited_a) if waited_a else 0:.1f} s; submitted "
            f"{run.states['submitted']}, unfinished {run.unfinished}, failed {run.states['failed']}; a bare POST took "
            f"{post * 1000:.0f} ms" + concurrency,
        ),
    ]
    return rows


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<60} {value}")
