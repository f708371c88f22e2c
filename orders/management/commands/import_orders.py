"""Import orders from a CSV file: every row is checked first, and nothing is saved unless all of them are valid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from orders import imports
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Import sales orders from a CSV file (one row per order line) for one tenant. Prints every problem as "
        "'row N, column X: message' and saves nothing if there is any; exit code 1."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="CSV file, UTF-8, comma or semicolon separated, with a header row.")
        parser.add_argument("--tenant", metavar="UUID", required=True, help="Visma tenant ID of the tenant.")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--submit", action="store_true", help="Queue the orders for Visma instead of drafts.")
        mode.add_argument("--dry-run", action="store_true", help="Check the file and summarise; save nothing.")

    def handle(self, *args: Any, file: str, tenant: str, submit: bool, dry_run: bool, **options: Any) -> None:
        target = self._tenant(tenant)
        try:
            parsed = imports.parse(imports.decode(self._read(Path(file))))
        except imports.ImportRefused as exc:
            self._fail(exc.problems)
        plan = imports.validate(parsed, target) if dry_run else imports.import_orders(parsed, target, submit=submit)
        if not plan.ok:
            self._fail(plan.problems)
        if dry_run:
            self.stdout.write(f"Dry run: {plan.summary}. The file is valid; nothing was saved.")
        else:
            how = "queued for Visma" if submit else "saved as drafts"
            self.stdout.write(self.style.SUCCESS(f"Imported {plan.summary}; {how}."))

    def _read(self, path: Path) -> bytes:
        try:
            if path.stat().st_size > imports.MAX_BYTES:
                raise CommandError(f"{path} is larger than {imports.MAX_BYTES // (1024 * 1024)} MB; split it.")
            return path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None

    def _fail(self, problems: list[imports.Problem]):
        for problem in problems:
            self.stderr.write(str(problem))
        count = len(problems)
        raise CommandError(f"{count} problem{'s' if count != 1 else ''}; nothing was imported.")

    def _tenant(self, tenant_id: str) -> Tenant:
        try:
            found = list(Tenant.objects.filter(tenant_id=tenant_id).select_related("application"))
        except ValidationError:
            raise CommandError(f"'{tenant_id}' is not a valid tenant ID (a UUID).") from None
        if not found:
            raise CommandError(f"No tenant with tenant ID {tenant_id} is registered.")
        active = [t for t in found if t.active and t.application.active] or found
        if len(active) > 1:
            raise CommandError(f"Tenant ID {tenant_id} is registered under {len(active)} active applications.")
        return active[0]
