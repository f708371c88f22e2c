from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_delete, post_migrate, post_save

from core.schedules import ORDER_REFRESH, SWEEPER


def _keep_schedule(name: str, func: str, minutes: int) -> None:
    """Put a repeating schedule back as it should be, whatever was changed in the admin."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=name,
        defaults={
            "func": func,
            "args": None,
            "kwargs": None,
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
        },
    )


def ensure_sweeper_schedule(**kwargs) -> None:
    """Every migrate puts the sweeper's schedule back: every minute."""
    _keep_schedule(SWEEPER, "orders.tasks.sweep_orders", 1)


def ensure_refresh_schedule(**kwargs) -> None:
    """Every migrate puts the order refresh's schedule back, every ORDER_REFRESH_MINUTES as settings say now."""
    _keep_schedule(ORDER_REFRESH, "orders.tasks.refresh_all_tenants", settings.ORDER_REFRESH_MINUTES)


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Sales orders"

    def ready(self) -> None:
        post_migrate.connect(ensure_sweeper_schedule, sender=self, dispatch_uid="orders.ensure_sweeper_schedule")
        post_migrate.connect(ensure_refresh_schedule, sender=self, dispatch_uid="orders.ensure_refresh_schedule")
        from . import totals
        from .models import SalesOrderLine

        post_save.connect(totals.line_changed, sender=SalesOrderLine, dispatch_uid="orders.totals.saved")
        post_delete.connect(totals.line_changed, sender=SalesOrderLine, dispatch_uid="orders.totals.deleted")
