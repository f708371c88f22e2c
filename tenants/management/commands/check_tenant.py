"""The Test connection steps on the command line; exit code 1 when a step fails."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.services import check_connection

MARKS = {"ok": "OK  ", "failed": "FAIL", "skipped": "SKIP"}


class Command(BaseCommand):
    help = "Check a tenant's connection to Visma: token, read call, write scope."

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant_id", help="The tenant's Visma tenant ID (UUID).")

    def handle(self, *args: Any, tenant_id: str, **options: Any) -> None:
        try:
            tenants = list(Tenant.objects.select_related("application").filter(tenant_id=tenant_id))
        except ValidationError:
            raise CommandError(f"'{tenant_id}' is not a valid tenant ID (a UUID).") from None
        if not tenants:
            raise CommandError(f"No tenant with tenant ID {tenant_id} is registered.")
        failed = False
        for tenant in tenants:
            self.stdout.write(f"{tenant.name} ({tenant.tenant_id}) via {tenant.application.client_id}")
            report = check_connection(tenant)
            for step in report.steps:
                style = self.style.SUCCESS if step.state == "ok" else self.style.ERROR
                self.stdout.write(style(f"  [{MARKS[step.state]}] {step.title}: {step.detail}"))
            failed = failed or not report.ok
        if failed:
            raise CommandError("The connection check failed.")
