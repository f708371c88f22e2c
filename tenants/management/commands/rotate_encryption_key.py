"""Re-encrypt every stored client secret with the newest key in FIELD_ENCRYPTION_KEY."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from tenants import crypto
from tenants.models import ServiceApplication


class Command(BaseCommand):
    help = "Re-encrypt client secrets with the first (newest) FIELD_ENCRYPTION_KEY; then the old key can be removed."

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = 0
        with transaction.atomic():
            for application in ServiceApplication.objects.select_for_update().exclude(encrypted_secret=""):
                application.encrypted_secret = crypto.rotate(application.encrypted_secret)
                application.save(update_fields=["encrypted_secret"])
                rotated += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {rotated} client secret{'s' if rotated != 1 else ''}."))
