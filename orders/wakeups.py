"""Handing a held-back order to a worker again at the moment its wait ends (a 429's Retry-After, the rate budget's
next turn, a backoff), instead of at the sweeper's next pass a minute later.

django-q2 has no delayed tasks, so the worker process that held the order back keeps it in one timer thread (however
many orders wait). If that process stops first, the sweeper still enqueues the order at its next pass: a wakeup only
makes an order earlier, never the only way back.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

logger = logging.getLogger(__name__)
LONGEST_WAIT_SECONDS = 15 * 60  # further off, the sweeper's next pass is as good
MOST_WAITING = 10_000  # beyond this many orders in one process, the sweeper takes the rest


class _Alarm:
    """One thread per process that enqueues each order when its time comes; an order waits here once."""

    def __init__(self):
        self.due: list[tuple[float, int]] = []
        self.waiting: dict[int, float] = {}
        self.changed = threading.Condition()
        self.thread: threading.Thread | None = None

    def add(self, order_id: int, at: float) -> None:
        with self.changed:
            if order_id in self.waiting and self.waiting[order_id] <= at:
                return
            if len(self.waiting) >= MOST_WAITING:
                return
            self.waiting[order_id] = at
            heapq.heappush(self.due, (at, order_id))
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="order-wakeups", daemon=True)
                self.thread.start()
            self.changed.notify()

    def _run(self) -> None:
        while True:
            with self.changed:
                while not self.due or self.due[0][0] > time.monotonic():
                    self.changed.wait(timeout=self.due[0][0] - time.monotonic() if self.due else None)
                at, order_id = heapq.heappop(self.due)
                if self.waiting.get(order_id) != at:
                    continue  # an earlier wakeup for it replaced this one
                del self.waiting[order_id]
            _wake(order_id)


_alarm = _Alarm()


def enqueue_at(order_id: int, when: datetime) -> None:
    if not settings.ORDER_WAKEUPS:
        return
    delay = (when - timezone.now()).total_seconds()
    if delay <= LONGEST_WAIT_SECONDS:
        _alarm.add(order_id, time.monotonic() + max(0.0, delay))


def _wake(order_id: int) -> None:
    from .services import enqueue

    close_old_connections()
    try:
        enqueue(order_id)
    except Exception:
        logger.warning("Could not hand order %s to a worker; the sweeper will", order_id, exc_info=True)
    finally:
        connections.close_all()
