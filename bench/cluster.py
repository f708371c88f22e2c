"""Real django-q2 clusters for the benchmarks, and what the queue holds, with the ORM broker or Redis alike.

A cluster is `manage.py qcluster` in its own process group (a "host": sentinel, pusher, monitor and workers), so
SIGKILL takes all of it at once. Several clusters started from one benchmark share the broker, as hosts do.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.setup import ROOT


class Cluster:
    """`manage.py qcluster` in its own process group. `environment`: variables for this cluster only (Q_WORKERS)."""

    def __init__(self, log: Path, **environment: str):
        self.log = log
        self.environment = environment
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env={**os.environ, **self.environment},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def waiting_tasks() -> int:
    """Tasks in the broker not yet finished. ORM broker: queued and taken but not acknowledged. Redis: queued only
    (a task a worker took is no longer in Redis)."""
    from django_q.brokers import get_broker

    broker = get_broker()
    waiting = broker.queue_size()
    if broker.info().startswith("ORM"):
        waiting += broker.lock_size()
    return waiting


def mark(path: str) -> None:
    """A task that does nearly nothing but leaves a trace: one byte appended to `path` (atomic with O_APPEND)."""
    with open(path, "ab", buffering=0) as out:
        out.write(b".")


def marks(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def run_marks(path: Path, count: int, time_limit: float) -> float:
    """Enqueue `count` marking tasks and wait until all have run: tasks per second, whichever the broker."""
    from django_q.tasks import async_task

    before = marks(path)
    started = time.monotonic()
    for _ in range(count):
        async_task("bench.cluster.mark", str(path))
    while marks(path) < before + count and time.monotonic() - started < time_limit:
        time.sleep(0.05)
    return (marks(path) - before) / (time.monotonic() - started)


def wait_until_ready(path: Path, time_limit: float = 120) -> None:
    """Until the clusters started so far run a task: their start-up is not counted in a benchmark's time."""
    if not run_marks(path, 1, time_limit):
        raise RuntimeError(f"No cluster ran a task within {time_limit:.0f} s")
