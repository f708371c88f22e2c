"""One django-q2 schedule it cannot read stops every schedule, the order sweeper included: /health/, the dashboard
and the system checks say so, and migrate puts the portal's own schedules back."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.scheduler import scheduler

from core import schedules
from orders.apps import ensure_sweeper_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def sweeper() -> Schedule:
    ensure_sweeper_schedule()
    sweeper = Schedule.objects.get(name=schedules.SWEEPER)
    sweeper.next_run = timezone.now()
    sweeper.save()
    return sweeper


def unreadable() -> Schedule:
    return Schedule.objects.create(name="nightly-report", func="reports.tasks.nightly", args="last week", next_run=None)


def overdue(sweeper: Schedule, minutes: int) -> None:
    Schedule.objects.filter(pk=sweeper.pk).update(next_run=timezone.now() - timedelta(minutes=minutes, seconds=30))


@pytest.mark.parametrize(
    ("args", "kwargs", "readable"),
    [
        (None, None, True),
        ("1, 'two'", "", True),
        ("[1, 2]", "{'days': 30}", True),
        ("", "days=30, name='x'", True),
        ("", "days=nonsense", True),  # django-q2 drops it without failing
        ("last week", None, False),
        ("open(", None, False),
        ("__import__('os')", None, False),
        (None, "[1, 2]", False),
        (None, "{1: 2}", False),
        (None, "x) or (y", False),
    ],
)
def test_which_rows_django_q_cannot_read(args, kwargs, readable):
    assert (schedules.problem(Schedule(func="x.y", args=args, kwargs=kwargs)) == "") is readable


def test_one_unreadable_row_stops_the_sweeper(sweeper):
    overdue(sweeper, 1)
    unreadable()
    Schedule.objects.filter(name="nightly-report").update(next_run=timezone.now() - timedelta(minutes=1))
    before = Schedule.objects.get(pk=sweeper.pk).next_run
    scheduler(get_broker())
    assert Schedule.objects.get(pk=sweeper.pk).next_run == before  # the whole pass was rolled back
    Schedule.objects.filter(name="nightly-report").delete()
    scheduler(get_broker())
    assert Schedule.objects.get(pk=sweeper.pk).next_run > before


def test_health_is_unhealthy_when_the_sweeper_is_more_than_three_minutes_late(sweeper):
    overdue(sweeper, 2)
    assert json.loads(Client().get("/health/").content)["checks"]["sweeper"] == "ok"
    overdue(sweeper, 4)
    response = Client().get("/health/")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "unhealthy" and body["checks"]["sweeper"] == "overdue by 4 minutes"


def test_health_counts_the_rows_that_stop_the_scheduler_without_naming_them(sweeper):
    unreadable()
    overdue(sweeper, 10)
    detail = json.loads(Client().get("/health/").content)["checks"]["sweeper"]
    assert detail == "overdue by 10 minutes; 1 schedule django-q2 cannot read"


def test_health_reports_a_missing_or_switched_off_sweeper(sweeper):
    Schedule.objects.filter(pk=sweeper.pk).update(repeats=0)
    assert json.loads(Client().get("/health/").content)["checks"]["sweeper"] == (
        "the order-sweeper schedule is switched off (repeats 0)"
    )
    Schedule.objects.filter(pk=sweeper.pk).delete()
    assert json.loads(Client().get("/health/").content)["checks"]["sweeper"] == (
        "no order-sweeper schedule: run manage.py migrate"
    )


def test_the_dashboard_says_the_sweeper_stopped_and_which_row_to_fix(sweeper, superuser):
    client = Client()
    client.force_login(superuser)
    assert 'id="sweeper-stopped"' not in client.get(reverse("dashboard")).content.decode()
    row = unreadable()
    overdue(sweeper, 5)
    html = client.get(reverse("dashboard")).content.decode()
    assert "Order sweeper stopped" in html and "Overdue by 5 minutes" in html
    assert f"Schedule &#x27;nightly-report&#x27; (id {row.pk}): its arguments are not a Python literal" in html
    assert reverse("admin:django_q_schedule_changelist") in html


def test_manage_py_check_with_the_database_names_the_unreadable_row(sweeper):
    call_command("check", "--database", "default")
    row = unreadable()
    with pytest.raises(SystemCheckError, match=rf"core\.E003.*nightly-report' \(id {row.pk}\)"):
        call_command("check", "--database", "default")


def test_migrate_puts_the_portals_own_schedules_back(sweeper):
    Schedule.objects.filter(pk=sweeper.pk).update(args="oops(", kwargs="[1]", minutes=60)
    ensure_sweeper_schedule()
    repaired = Schedule.objects.get(pk=sweeper.pk)
    assert (repaired.args, repaired.kwargs, repaired.minutes) == (None, None, 1)
    assert schedules.problem(repaired) == ""
