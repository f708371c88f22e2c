from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_sweeper_schedule(**kwargs) -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="order-sweeper",
        defaults={"func": "orders.tasks.sweep_orders", "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Sales orders"

    def ready(self) -> None:
        post_migrate.connect(ensure_sweeper_schedule, sender=self, dispatch_uid="orders.ensure_sweeper_schedule")
