"""Times as Visma's .NET services write them: UTC with seven decimals (100 ns ticks), e.g. 2026-11-30T08:01:02.1234567Z.

Comparisons use whole ticks, so a `modifiedSince` copied from a `lastModified` matches that order exactly."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

TICKS_PER_SECOND = 10_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PARSED = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:T(?P<hm>\d{2}:\d{2})(?::(?P<s>\d{2})(?:\.(?P<fraction>\d{1,7}))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?"
)


def now_ticks(offset_seconds: float = 0.0) -> int:
    """Ticks since 1970 on the real clock shifted by `offset_seconds`."""
    return (time.time_ns() + round(offset_seconds * 1e9)) // 100


def format_ticks(ticks: int) -> str:
    seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    moment = _EPOCH + timedelta(seconds=seconds)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:07d}Z"


def parse_ticks(text: str) -> int | None:
    """Ticks of an ISO 8601 time as .NET reads it (no offset means UTC), or None when it is not one."""
    match = _PARSED.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    plain = f"{match['date']}T{match['hm'] or '00:00'}:{match['s'] or '00'}{match['zone'] or '+00:00'}"
    try:
        moment = datetime.fromisoformat(plain.replace("Z", "+00:00"))
    except ValueError:
        return None
    whole = (moment - _EPOCH) // timedelta(seconds=1)
    return whole * TICKS_PER_SECOND + int((match["fraction"] or "").ljust(7, "0"))


def normalized(text: str | None) -> str | None:
    """A time as Visma writes it back: the same moment in UTC with seven decimals (None stays None)."""
    ticks = parse_ticks(text) if text else None
    return format_ticks(ticks) if ticks is not None else text


def written(text: str, local_hours: float | None) -> str:
    """A stored UTC time as the API writes it: unchanged, or with `local_hours` set the same moment in that zone's
    local time with no zone designator (as Visma's older APIs write times), which a reader taking it for UTC gets
    wrong by that many hours."""
    ticks = parse_ticks(text) if local_hours is not None else None
    if ticks is None:
        return text
    return format_ticks(ticks + round(local_hours * 3600 * TICKS_PER_SECOND)).removesuffix("Z")


def day_of(ticks: int) -> int:
    """Ticks at the start of the UTC day holding `ticks`."""
    day = TICKS_PER_SECOND * 86400
    return ticks // day * day
