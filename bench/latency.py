"""Latency hiding: N orders with the sandbox answering every order POST after 200 ms, through clusters of 1, 2 and 4
workers, against the ideal (N x latency / workers), a bare sequential loop of the same POSTs and a bare loop with as
many threads as the cluster has workers, all in the same run.
"""

from __future__ import annotations

from bench import scenario
from bench.setup import configure_django, sandbox_process
from bench.soak import make_orders

ORDERS = 100
LATENCY = 0.2
WORKERS = (1, 2, 4)


def main() -> list[tuple[str, str]]:
    folder = configure_django("bench.cluster_settings", **scenario.ENVIRONMENT)
    scenario.quiet_logs()
    rows = []
    latency = {f"POST {scenario.ORDERS_PATH}": LATENCY}
    with sandbox_process(scenario.SECRET, latency=latency) as sandbox:
        [(tenant, customers)] = scenario.prepare(sandbox)
        sequential = scenario.bare_posts(sandbox, make_orders(tenant, customers, ORDERS))
        rows.append(
            (
                f"latency {LATENCY * 1000:.0f} ms per POST, {ORDERS} orders: bare sequential POST loop",
                f"{sequential:.1f} s ({sequential / (ORDERS * LATENCY):.2f}x the {ORDERS * LATENCY:.0f} s of latency)",
            )
        )
        concurrency = scenario.tenant_concurrency()
        for workers in WORKERS:
            threaded = scenario.bare_posts(sandbox, make_orders(tenant, customers, ORDERS), threads=workers)
            scenario.fresh_start(sandbox)
            batch = scenario.Batch(make_orders(tenant, customers, ORDERS))
            run = scenario.through_cluster(folder, [batch], workers=workers, label=f"latency-{workers}w")
            ideal = ORDERS * LATENCY / workers
            rows.append(
                (
                    f"latency {LATENCY * 1000:.0f} ms, {ORDERS} orders, {workers} worker(s): portal / ideal / "
                    f"bare loop, {workers} thread(s)",
                    f"{run.elapsed:.1f} / {ideal:.1f} / {threaded:.1f} s: portal reaches {ideal / run.elapsed:.2f}x "
                    f"of ideal, {threaded / run.elapsed:.2f}x of the bare threaded loop, "
                    f"{sequential / run.elapsed:.1f}x the sequential loop's speed; submitted {run.states['submitted']}"
                    f", unfinished {run.unfinished}" + concurrency,
                )
            )
    return rows


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<60} {value}")
