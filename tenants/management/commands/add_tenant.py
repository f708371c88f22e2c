"""Register or update a tenant (customer organisation) of a service application."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.validators import SINGLE_LINE_MESSAGE, has_control_characters
from tenants.models import ServiceApplication
from tenants.services import register_tenant


class Command(BaseCommand):
    help = "Create or update a tenant that approved the application in the Visma App Store."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--client-id", required=True, help="Client ID of the service application.")
        parser.add_argument("--tenant-id", required=True, help="The customer's Visma tenant ID (a UUID).")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--scopes", default="read,write", help="What the tenant approved: read, write or read,write."
        )

    def handle(self, *args: Any, client_id: str, tenant_id: str, name: str, scopes: str, **options: Any) -> None:
        try:
            tenant_uuid = str(uuid.UUID(tenant_id))
        except ValueError:
            raise CommandError(f"'{tenant_id}' is not a valid tenant ID (a UUID).") from None
        if has_control_characters(name):
            raise CommandError(f"--name: {SINGLE_LINE_MESSAGE}")
        wanted = {s.strip() for s in scopes.split(",") if s.strip()}
        if not wanted or wanted - {"read", "write"}:
            raise CommandError("--scopes takes read, write or read,write.")
        application = ServiceApplication.objects.filter(client_id=client_id).first()
        if application is None:
            raise CommandError(f"No service application with client ID {client_id}; run add_application first.")
        tenant, created = register_tenant(
            application=application,
            tenant_id=tenant_uuid,
            name=name[:200],
            can_read="read" in wanted,
            can_write="write" in wanted,
        )
        verb = "Registered" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} tenant {tenant.name} ({tenant.tenant_id}), scopes {scopes}."))
