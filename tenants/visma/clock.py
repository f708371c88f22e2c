"""Visma's clock, as told by the `Date` header of its answers: an offset per API host, shared by every process, so
that `modifiedSince` is asked in Visma's time however far the portal's clock has drifted."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.core.cache import cache
from django.utils import timezone

KEEP_SECONDS = 7 * 24 * 3600
_written: dict[str, tuple[float, float]] = {}  # host -> (offset, when) this process last stored: skip equal writes


def _key(host: str) -> str:
    return f"visma-clock:{host.lower()}"


def observe(host: str, date_header: str | None, sent_at: datetime, received_at: datetime) -> None:
    """Remember Visma's offset from the answer's `Date` (taken against the middle of the exchange)."""
    if not date_header:
        return
    try:
        visma_now = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return
    if visma_now is None or visma_now.tzinfo is None:
        return
    ours = sent_at + (received_at - sent_at) / 2
    offset = (visma_now - ours).total_seconds()
    if abs(offset) > 10 * 365 * 24 * 3600:  # a nonsense Date is ignored
        return
    last = _written.get(host)
    now = time.monotonic()
    if last is None or abs(last[0] - offset) > 1 or now - last[1] > 3600:
        cache.set(_key(host), round(offset, 1), KEEP_SECONDS)
        _written[host] = (offset, now)


def offset(host: str) -> timedelta:
    """How far Visma's clock is ahead of ours (negative: behind); zero until an answer has told us."""
    stored = cache.get(_key(host))
    if stored is None and host in _written:
        stored = _written[host][0]
    return timedelta(seconds=stored or 0)


def visma_time(host: str, ours: datetime | None = None) -> datetime:
    return (ours or timezone.now()) + offset(host)
