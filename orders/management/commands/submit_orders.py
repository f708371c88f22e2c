"""Send due queued orders to Visma: hand them to the workers, or (--wait) submit them here and print each outcome."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from orders import services
from orders.models import SalesOrder
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Submit queued orders whose next attempt is due. Without --wait they are handed to the background workers."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", metavar="UUID", help="Only orders of this Visma tenant ID.")
        parser.add_argument("--wait", action="store_true", help="Submit in the foreground and print each outcome.")

    def handle(self, *args: Any, tenant: str | None, wait: bool, **options: Any) -> None:
        due = services.due_orders(self._tenant(tenant) if tenant is not None else None)
        if not due:
            self.stdout.write("No queued orders are due.")
            return
        if not wait:
            for order_id in due:
                services.enqueue(order_id)
            self.stdout.write(
                self.style.SUCCESS(f"{len(due)} order{'s' if len(due) != 1 else ''} handed to the workers.")
            )
            return
        failed = 0
        for order_id in due:
            order = services.submit(order_id)
            if order is None:
                self.stdout.write(f"order {order_id}: taken by another worker, skipped")
                continue
            failed += order.state == SalesOrder.State.FAILED
            self.stdout.write(self._outcome(order))
        if failed:
            raise CommandError(f"{failed} of {len(due)} orders failed; see each order's page for Visma's messages.")

    def _outcome(self, order: SalesOrder) -> str:
        if order.state == SalesOrder.State.SUBMITTED:
            return self.style.SUCCESS(f"{order.reference}: submitted as Visma order {order.visma_label}")
        if order.state == SalesOrder.State.FAILED:
            return self.style.ERROR(f"{order.reference}: failed: {order.last_error}")
        when = f"{order.next_attempt_at:%Y-%m-%d %H:%M:%S}" if order.next_attempt_at else "soon"
        return self.style.WARNING(f"{order.reference}: {order.state}, next attempt {when}: {order.last_error}")

    def _tenant(self, tenant_id: str) -> Tenant:
        try:
            return Tenant.objects.get(tenant_id=tenant_id)
        except (Tenant.DoesNotExist, ValidationError, ValueError) as exc:
            raise CommandError(f"No tenant with tenant ID {tenant_id!r}.") from exc
        except Tenant.MultipleObjectsReturned as exc:
            raise CommandError(f"Tenant ID {tenant_id} is registered under several applications.") from exc
