"""Recurring tasks, created and kept in step with settings by every `migrate`: no manual steps."""

from __future__ import annotations

from django.conf import settings


def ensure_schedules(**kwargs) -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="customer-sync",
        defaults={
            "func": "tenants.tasks.sync_all_tenants",
            "args": None,
            "kwargs": None,
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.CUSTOMER_SYNC_MINUTES,
            "repeats": -1,
        },
    )
    Schedule.objects.update_or_create(
        name="api-log-prune",
        defaults={
            "func": "tenants.api_log.prune_old_calls",
            "args": None,
            "kwargs": None,
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
        },
    )
