"""Order submission throughput: 1,000 orders through a real 2-worker django-q2 cluster (ORM broker, SQLite) against
the sandbox in its own process, no faults, vs a bare loop of the same POSTs in the same run (see bench/soak.py)."""

from __future__ import annotations

from bench import soak


def main() -> list[tuple[str, str]]:
    result = soak.run(faults=[], kills=0, label="orders")
    name = f"order submission, {result.orders:,} orders, 2 workers, no faults"
    return [
        (
            f"{name}: portal vs bare POST loop",
            f"{result.throughput:.1f} vs {result.bare_throughput:.0f} orders/s "
            f"({result.throughput / result.bare_throughput:.3f}x); submitted {result.submitted:,}, "
            f"duplicates {result.duplicates}, unfinished {result.unfinished}",
        )
    ]


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<60} {value}")
