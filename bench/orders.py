"""Order submission throughput: 1,000 orders through a real 2-worker django-q2 cluster (ORM broker, SQLite) against
the sandbox in its own process, no faults, vs a bare loop of the same POSTs in the same run (see bench/soak.py).

Then the same cluster runs 1,000 empty tasks: the queue's own floor, to tell the portal's work from the queue's.
"""

from __future__ import annotations

import time

from bench import soak


def empty_tasks_per_second(folder, count: int) -> float:
    from django_q.models import OrmQ
    from django_q.tasks import async_task

    cluster = soak.Cluster(folder / "qcluster-empty-tasks.log")
    cluster.start()
    started = time.monotonic()
    try:
        for _ in range(count):
            async_task("math.floor", 1.5)
        while OrmQ.objects.exists() and time.monotonic() - started < soak.TIME_LIMIT:
            time.sleep(0.1)
        return count / (time.monotonic() - started)
    finally:
        cluster.stop()


def main() -> list[tuple[str, str]]:
    result = soak.run(faults=[], kills=0, label="orders")
    floor = empty_tasks_per_second(result.folder, result.orders)
    name = f"order submission, {result.orders:,} orders, 2 workers, no faults"
    return [
        (
            f"{name}: portal vs bare POST loop",
            f"{result.throughput:.1f} vs {result.bare_throughput:.0f} orders/s "
            f"({result.throughput / result.bare_throughput:.3f}x); submitted {result.submitted:,}, "
            f"duplicates {result.duplicates}, unfinished {result.unfinished}",
        ),
        (
            f"the same cluster, {result.orders:,} empty tasks (the queue's own floor)",
            f"{floor:.1f} tasks/s",
        ),
    ]


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<60} {value}")
