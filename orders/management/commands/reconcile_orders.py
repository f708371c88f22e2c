"""Run the order sweeper once: reconcile orders stuck in submitting and hand due queued orders to the workers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orders import services


class Command(BaseCommand):
    help = "Reconcile orders stuck in submitting with Visma and enqueue queued orders that are due (the sweeper)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(services.sweep())
