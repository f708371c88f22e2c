"""Dates typed into list filters (from/to): read when the portal can search by them, else left out with the reason.

Python's dates end at 9999-12-31 and begin at 0001-01-01, so a day at either end overflows once it is moved to
UTC or has a day added; filters take the days in between that anyone could mean.
"""

from __future__ import annotations

from datetime import date

from django.utils.dateparse import parse_date

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9998, 12, 31)


def day_problem(day: date | None, label: str, typed: str) -> str:
    """Why a filter cannot search for `day` (None: `typed` is not a date), or "" when it can."""
    if day is None:
        return f"{label}: “{typed}” is not a date (YYYY-MM-DD); the list is shown without it."
    if not FIRST_DAY <= day <= LAST_DAY:
        return (
            f"{label}: {day.isoformat()} is outside the dates that can be searched ({FIRST_DAY.isoformat()} to "
            f"{LAST_DAY.isoformat()}); the list is shown without it."
        )
    return ""


def filter_day(value: str | None, label: str) -> tuple[date | None, str]:
    """(the day, "") for a usable YYYY-MM-DD, (None, the reason) for anything else, (None, "") when empty."""
    text = (value or "").strip()[:32]
    if not text:
        return None, ""
    try:
        day = parse_date(text)
    except ValueError:
        day = None
    problem = day_problem(day, label, text)
    return (None, problem) if problem else (day, "")
