"""`make bench` (`python -m bench [name ...]`): run the benchmarks, each in its own process, and print one table.

Not part of the test suite; nothing here asserts on time. Names: see BENCHMARKS. `python -m bench soak` runs one.
Each uses a database of its own on the portal's database server (DATABASE_URL: SQLite by default, PostgreSQL if it
says so) and, where REDIS_URL is set, Redis as broker and cache (see bench/setup.py).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCHMARKS = {
    "customers": "customer sync of 10,000 customers vs bare paged GETs",
    "orders": "order submission throughput, 1,000 orders, 2 workers, vs a bare POST loop",
    "tokens": "token requests per token lifetime with 20 concurrent callers",
    "lists": "customers and orders list pages at 100,000 rows",
    "imports": "CSV order import, lines per second",
    "soak": "1,000 orders over HTTPS, ~30% faults, 3 cluster SIGKILLs, Visma down once: duplicates, lost, failed",
    "latency": "100 orders, 200 ms per POST, 1/2/4 workers vs ideal, a bare loop and a bare threaded loop",
    "ratelimit": "150 orders, budget 50 requests per 20 s window: elapsed vs paced ideal, 429s answered",
    "fairness": "tenant A 300 orders, tenant B 20 orders 2 s later, 200 ms POSTs: B's wait vs round-robin ideal",
    "refresh": "order refresh of 10,000 followed orders in one tenant vs a bare paged list loop",
    "scaleout": "the soak on PostgreSQL + Redis with two hosts, one killed twice (skipped loudly without them)",
}
ROOT = Path(__file__).resolve().parent


def available() -> list[str]:
    return [name for name in BENCHMARKS if (ROOT / f"{name}.py").is_file()]


def run_one(name: str, out: str) -> None:
    """In the child process: run one benchmark and write its rows as JSON."""
    rows = importlib.import_module(f"bench.{name}").main()
    Path(out).write_text(json.dumps(rows))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        run_one(argv[1], argv[2])
        return 0
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"Unknown benchmark {', '.join(unknown)}; known: {', '.join(available())}", file=sys.stderr)
        return 2
    rows: list[tuple[str, str]] = []
    for name in names:
        print(f"== {name}: {BENCHMARKS[name]}", file=sys.stderr, flush=True)
        started = time.monotonic()
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            done = subprocess.run([sys.executable, "-m", "bench", "--one", name, out.name], cwd=ROOT.parent)
            if done.returncode == 0:
                rows.extend(tuple(row) for row in json.loads(Path(out.name).read_text()))
            else:
                rows.append((name, f"FAILED (exit code {done.returncode}; see the output above)"))
        print(f"== {name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    width = max(len(name) for name, _ in rows)
    print()
    print(f"{'benchmark'.ljust(width)}  result")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    return 0 if all(not value.startswith("FAILED") for _, value in rows) else 1  # a run that broke, never a time


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
