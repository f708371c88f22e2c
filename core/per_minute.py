"""Counting events per calendar minute in the shared cache, for limits that hold across processes and hosts."""

from __future__ import annotations

import math
import time

from django.core.cache import cache


def count(key: str) -> tuple[int, int]:
    """Count one event under `key` this minute: (events this minute so far, seconds until the minute ends)."""
    now = time.time()
    minute = int(now // 60)
    counter = f"per-minute:{key}:{minute}"
    cache.add(counter, 0, timeout=120)
    try:
        events = cache.incr(counter)
    except ValueError:  # expired between add and incr
        cache.set(counter, 1, timeout=120)
        events = 1
    return events, max(1, math.ceil((minute + 1) * 60 - now))
