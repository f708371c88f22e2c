"""How the suite spreads over pytest-xdist workers: pyproject.toml asks for `-n auto --dist loadgroup`.

A whole run (no arguments, or folders) uses WORKERS processes; naming test files or test ids runs them in this one
process, as before. `-n N` (or PYTEST_XDIST_AUTO_NUM_WORKERS=N) picks a count; `-n 0` never starts workers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Two cores: much of a test's time is spent waiting (sandbox faults and timeouts, Chromium, subprocesses starting),
# so one worker more than there are cores keeps both busy; each worker more costs its own test database and start-up.
WORKERS = 3
# The longest tests start first, so they overlap the many short ones instead of running alone at the end.
LONG_RUNNING_MARKERS = ("browser", "cluster")


def pytest_xdist_auto_num_workers(config) -> int:
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    named = [Path(arg.split("::", 1)[0]) for arg in config.args]
    if named and all(path.is_file() for path in named):
        return 0
    return WORKERS


def _uses_chromium(item) -> bool:
    return bool(item.get_closest_marker("browser")) or "browser" in getattr(item, "fixturenames", ())


def _start_rank(item) -> int:
    if _uses_chromium(item):
        return 0
    return 1 if any(item.get_closest_marker(name) for name in LONG_RUNNING_MARKERS) else 2


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a run in one process keeps the order of the files
    for item in items:
        if _uses_chromium(item):
            # One browser journey at a time, on one worker: several Chromiums at once starve each other (and the
            # live servers) of CPU on two cores, and their 15 s waits for the page turn into failures.
            item.add_marker(pytest.mark.xdist_group("browser"))
    items.sort(key=_start_rank)
