"""Fetch customers from Visma in the foreground, with a progress bar and a summary line per tenant."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from tenants import sync
from tenants.customer_models import CustomerSync
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Sync customers of one tenant (--tenant UUID) or of every active tenant (--all) from Visma."

    def add_arguments(self, parser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--tenant", metavar="UUID", help="Visma tenant ID of the tenant to sync.")
        target.add_argument("--all", action="store_true", help="Sync every active tenant that approved the read scope.")

    def handle(self, *args: Any, tenant: str | None, all: bool, **options: Any) -> None:
        tenants = self._tenants(tenant, all)
        failed = 0
        for t in tenants:
            try:
                run = sync.start_sync(t, trigger=CustomerSync.Trigger.COMMAND, enqueue=False)
            except sync.SyncAlreadyRunning as exc:
                self.stderr.write(self.style.WARNING(str(exc)))
                failed += 1
                continue
            with tqdm(desc=t.name, unit=" customers", file=self.stderr, disable=None) as bar:

                def progress(current: CustomerSync) -> None:
                    if current.total:
                        bar.total = current.total
                    bar.update(current.fetched - bar.n)

                result = sync.run_sync(run.pk, on_page=progress)
            if result.outcome == CustomerSync.Outcome.SUCCEEDED:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{t.name}: {result.fetched} fetched in {result.pages} page{'s' if result.pages != 1 else ''}, "
                        f"{result.created} new, {result.updated} changed, {result.removed} removed in Visma."
                        + (f" {result.note}" if result.note else "")
                    )
                )
            else:
                failed += 1
                self.stderr.write(self.style.ERROR(f"{t.name}: sync failed. {result.error}"))
        if failed:
            raise CommandError(f"{failed} of {len(tenants)} tenant sync{'s' if len(tenants) != 1 else ''} failed.")

    def _tenants(self, tenant_id: str | None, all_tenants: bool) -> list[Tenant]:
        if all_tenants:
            tenants = list(Tenant.objects.filter(active=True, can_read=True, application__active=True))
            if not tenants:
                raise CommandError("No active tenant has approved the read scope.")
            return tenants
        try:
            found = list(Tenant.objects.filter(tenant_id=tenant_id))
        except ValidationError:
            raise CommandError(f"'{tenant_id}' is not a valid tenant ID (a UUID).") from None
        if not found:
            raise CommandError(f"No tenant with tenant ID {tenant_id} is registered.")
        return found
