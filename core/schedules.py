"""django-q2 schedules the portal relies on, and rows that stop all of them.

Every 30 seconds django-q2 starts the due schedules in one transaction. A row whose arguments it cannot read makes
that whole pass fail and roll back, every time: no schedule runs, the order sweeper included, until the row is fixed
or deleted. `migrate` recreates the portal's own schedules with their proper arguments.
"""

from __future__ import annotations

import ast
from datetime import timedelta

from django.utils import timezone

SWEEPER = "order-sweeper"
ORDER_REFRESH = "order-refresh"  # every ORDER_REFRESH_MINUTES: one refresh task per tenant with orders to follow
# The sweeper runs every minute; this late, it has stopped.
SWEEPER_LATE_AFTER = timedelta(minutes=3)


def problem(schedule) -> str:
    """Why django-q2 cannot start this schedule's task, or an empty string."""
    if schedule.args:
        try:
            ast.literal_eval(schedule.args)
        except Exception:  # whatever literal_eval raises here, the scheduler raises too
            return "its arguments are not a Python literal, e.g. 1, 'text'"
    if schedule.kwargs:
        try:
            kwargs = ast.literal_eval(schedule.kwargs)
        except (SyntaxError, ValueError):
            return _keyword_form_problem(schedule.kwargs)
        except Exception:
            return "its keyword arguments cannot be read"
        if not isinstance(kwargs, dict) or not all(isinstance(name, str) for name in kwargs):
            return "its keyword arguments are a literal but not a dict of names, e.g. {'days': 30}"
    return ""


def _keyword_form_problem(text: str) -> str:
    """django-q2 then reads `x=1, y='a'`, or drops what it cannot parse; only a text that parses as more than an
    argument list stops it."""
    try:
        parsed = ast.parse(f"f({text})", mode="eval").body
    except SyntaxError:
        return ""
    return "" if isinstance(parsed, ast.Call) else "its keyword arguments cannot be read"


def broken() -> list[tuple[object, str]]:
    """Every active schedule django-q2 cannot start, with the reason."""
    from django_q.models import Schedule

    rows = Schedule.objects.exclude(repeats=0).order_by("pk")
    return [(row, reason) for row in rows if (reason := problem(row))]


def describe(schedule, reason: str) -> str:
    return f"schedule {schedule.name or schedule.func!r} (id {schedule.pk}): {reason}"


def sweeper_status() -> dict:
    """Whether the order sweeper still runs: its schedule exists, is on, and is not overdue. When it is overdue, the
    rows that stop the scheduler are listed."""
    from django_q.models import Schedule

    sweeper = Schedule.objects.filter(name=SWEEPER).first()
    if sweeper is None:
        return {"ok": False, "detail": f"no {SWEEPER} schedule: run manage.py migrate", "broken": []}
    if sweeper.repeats == 0:
        return {"ok": False, "detail": f"the {SWEEPER} schedule is switched off (repeats 0)", "broken": []}
    late = timezone.now() - sweeper.next_run if sweeper.next_run else timedelta(0)
    if late <= SWEEPER_LATE_AFTER:
        return {"ok": True, "detail": "ok", "broken": []}
    detail = f"overdue by {int(late.total_seconds() // 60)} minutes"
    return {"ok": False, "detail": detail, "broken": [describe(row, reason) for row, reason in broken()]}
