"""Checks behind /health/: each returns (ok, detail) and never raises."""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.db import connection
from django_q.brokers import get_broker
from django_q.status import Stat

from . import schedules


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return False, exc.__class__.__name__
    return True, "ok"


def check_cache() -> tuple[bool, str]:
    key = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", 10)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:
        return False, exc.__class__.__name__
    return (True, "ok") if ok else (False, "value not stored")


def cluster_status() -> dict:
    """Running clusters (from their heartbeats) and the number of tasks waiting in the broker."""
    try:
        stats = Stat.get_all()
        queued = get_broker().queue_size()
    except Exception as exc:
        return {"ok": False, "clusters": 0, "queued": None, "detail": exc.__class__.__name__}
    alive = [s for s in stats if s.status in ("Idle", "Working", "Starting")]
    return {
        "ok": bool(alive),
        "clusters": len(alive),
        "workers": sum(len(s.workers) for s in alive),
        "queued": queued,
        "detail": "ok" if alive else "no cluster heartbeat",
    }


def sweeper_status() -> dict:
    """The order sweeper's schedule (see core.schedules): {"ok", "detail", "broken"}."""
    try:
        return schedules.sweeper_status()
    except Exception as exc:
        return {"ok": False, "detail": exc.__class__.__name__, "broken": []}


def check_sweeper() -> tuple[bool, str]:
    """For /health/, which anyone may read: the rows that stop the scheduler are counted, not named."""
    status = sweeper_status()
    if broken := len(status["broken"]):
        return False, f"{status['detail']}; {broken} schedule{'s' if broken > 1 else ''} django-q2 cannot read"
    return status["ok"], status["detail"]
