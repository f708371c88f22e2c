"""Spending Visma's rate-limit budget: 150 orders through a 2-worker cluster while the sandbox allows 50 requests per
20 s window for the tenant (Visma counts per client and tenant), against the paced ideal, and the 429s the sandbox
answered (goal 0: every 429 is budget burnt for nothing).

The paced ideal: the sandbox opens a window with a client's first request and a new one with the first request
after it ended, so at best each window's requests leave at its start and the last window's take only as long as
the same POSTs take without a limit (measured here, bare, in the same run). With all 50 requests a window that is
2 windows + the last 50 POSTs; the portal keeps VISMA_RATE_RESERVE (10%) of each window for staff's interactive
calls, so with 45 a window it is 3 windows + the last 15 POSTs. Both are printed; the second is the portal's.
"""

from __future__ import annotations

import math

from bench import scenario
from bench.setup import configure_django, sandbox_process
from bench.soak import make_orders

ORDERS = 150
LIMIT = 50
WINDOW = 20
WORKERS = 2
BARE = 40  # POSTs of the bare loop, within one window's budget


def paced_ideal(per_window: int, seconds_per_post: float) -> float:
    windows = math.ceil(ORDERS / per_window)
    last = ORDERS - (windows - 1) * per_window
    return (windows - 1) * WINDOW + last * seconds_per_post / WORKERS


def main() -> list[tuple[str, str]]:
    folder = configure_django("bench.cluster_settings", **scenario.ENVIRONMENT)
    scenario.quiet_logs()
    reserve = float(scenario.setting("VISMA_RATE_RESERVE", 0.10))
    with sandbox_process(scenario.SECRET, rate_limit=(LIMIT, WINDOW)) as sandbox:
        [(tenant, customers)] = scenario.prepare(sandbox)
        scenario.fresh_start(sandbox)
        seconds_per_post = scenario.bare_posts(sandbox, make_orders(tenant, customers, BARE)) / BARE
        scenario.fresh_start(sandbox)
        batch = scenario.Batch(make_orders(tenant, customers, ORDERS))
        run = scenario.through_cluster(folder, [batch], workers=WORKERS, label="ratelimit")
        log = sandbox.control("GET", "requests")["requests"]
        tokens = sum(sandbox.control("GET", "tokens")["token_requests"].values())
    api = [entry for entry in log if entry["path"].startswith("/api/")]
    refused = sum(1 for entry in api if entry["status"] == 429)
    posts = sum(1 for entry in api if entry["method"] == "POST")
    full = paced_ideal(LIMIT, seconds_per_post)
    kept = LIMIT - round(LIMIT * reserve)
    reserved = paced_ideal(kept, seconds_per_post)
    name = f"rate limit {LIMIT} per {WINDOW} s, {ORDERS} orders, {WORKERS} workers"
    return [
        (
            f"{name}: portal / paced ideal at {LIMIT} / at {kept} a window (reserve {reserve:.0%})",
            f"{run.elapsed:.1f} / {full:.1f} / {reserved:.1f} s: {run.elapsed / reserved:.2f}x the ideal with the "
            f"reserve (goal <= 1.1x), {run.elapsed / full:.2f}x the ideal without; submitted {run.states['submitted']}"
            f", unfinished {run.unfinished}, failed {run.states['failed']}",
        ),
        (
            f"{name}: 429s the sandbox answered (goal 0)",
            f"{refused} of {len(api)} API requests ({posts} POSTs, {tokens} token requests); a bare POST took "
            f"{seconds_per_post * 1000:.1f} ms",
        ),
    ]


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<60} {value}")
