"""Order submission throughput: 1,000 orders through a real 2-worker django-q2 cluster (the portal's database and
broker: SQLite and the ORM broker unless DATABASE_URL / REDIS_URL say otherwise) against
the sandbox in its own process, no faults, vs a bare loop of the same POSTs in the same run (see bench/soak.py).

Then the same cluster runs 1,000 empty tasks: the queue's own floor, to tell the portal's work from the queue's.
"""

from __future__ import annotations

from bench import soak
from bench.cluster import Cluster, run_marks, wait_until_ready


def empty_tasks_per_second(folder, count: int) -> float:
    """Tasks that only append a byte to a file, counted by the file's size: the same with the ORM broker and Redis
    (where the queue is empty while workers still run what they took). The cluster's start-up is not counted."""
    cluster = Cluster(folder / "qcluster-empty-tasks.log")
    cluster.start()
    try:
        wait_until_ready(folder / "ready.marks")
        return run_marks(folder / "empty-tasks.marks", count, soak.TIME_LIMIT)
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
