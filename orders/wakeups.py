"""Handing a held-back order to a worker again at the moment its wait ends (a 429's Retry-After, the rate budget's
next turn, a backoff), instead of at the sweeper's next pass a minute later.

django-q2 has no delayed tasks, so the worker that held the order back keeps a timer. If that worker stops first, the
sweeper still enqueues the order at its next pass: a timer only makes the order earlier, never the only way back.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

logger = logging.getLogger(__name__)
LONGEST_TIMER_SECONDS = 15 * 60  # further off, the sweeper's next pass is as good


def enqueue_at(order_id: int, when: datetime) -> None:
    if not settings.ORDER_WAKEUPS:
        return
    delay = (when - timezone.now()).total_seconds()
    if delay > LONGEST_TIMER_SECONDS:
        return
    timer = threading.Timer(max(0.0, delay), _wake, args=(order_id,))
    timer.daemon = True
    timer.name = f"wake-order-{order_id}"
    timer.start()


def _wake(order_id: int) -> None:
    from .services import enqueue

    close_old_connections()
    try:
        enqueue(order_id)
    except Exception:
        logger.warning("Could not hand order %s to a worker; the sweeper will", order_id, exc_info=True)
    finally:
        connections.close_all()
