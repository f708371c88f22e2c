"""Refresh the orders the portal follows from Visma now, and say what changed."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from orders import refresh
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Read the orders Visma changed since the last look, for every tenant with orders to follow (or one: "
        "--tenant UUID), and print what changed. Exits with 1 when a tenant could not be refreshed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", metavar="UUID", help="Visma tenant ID of the one tenant to refresh.")

    def handle(self, *args: Any, tenant: str | None, **options: Any) -> None:
        tenants = self._tenants(tenant)
        if not tenants:
            self.stdout.write("No tenant has orders to follow.")
            return
        failed = 0
        for each in tenants:
            result = refresh.refresh_tenant(each)
            if not result.ok:
                failed += 1
                self.stderr.write(self.style.ERROR(f"{each.name}: not refreshed. {result.summary()}"))
                continue
            self.stdout.write(self.style.SUCCESS(f"{each.name}: {result.summary()}"))
            for seen in result.changed:
                self.stdout.write(f"  {seen.describe()}")
        if failed:
            raise CommandError(f"{failed} of {len(tenants)} tenant{'s' if len(tenants) != 1 else ''} not refreshed.")

    def _tenants(self, tenant_id: str | None) -> list[Tenant]:
        if tenant_id is None:
            return list(refresh.tenants_to_refresh().select_related("application").order_by("name"))
        try:
            found = list(Tenant.objects.filter(tenant_id=tenant_id).select_related("application"))
        except ValidationError:
            raise CommandError(f"'{tenant_id}' is not a valid tenant ID (a UUID).") from None
        if not found:
            raise CommandError(f"No tenant with tenant ID {tenant_id} is registered.")
        return found
