"""Register or update the Visma service application. The secret never comes from the command line."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.validators import SINGLE_LINE_MESSAGE, has_control_characters
from tenants.models import ServiceApplication
from tenants.services import register_application


class Command(BaseCommand):
    help = "Create or update a Visma service application. Secret: prompt, standard input or VISMA_CLIENT_SECRET."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--token-url")
        parser.add_argument("--api-url")
        parser.add_argument("--token-lifetime", type=int)
        parser.add_argument("--client-secret", help=argparse.SUPPRESS)
        parser.add_argument(
            "--keep-secret", action="store_true", help="Update an existing application, keep its secret."
        )

    def handle(self, *args: Any, client_id: str, name: str, keep_secret: bool, **options: Any) -> None:
        if options["client_secret"] is not None:
            raise CommandError(
                "The client secret is never accepted on the command line (it would show in `ps` and shell history). "
                "Type it at the prompt, pipe it on standard input, or set VISMA_CLIENT_SECRET."
            )
        self._validate(client_id=client_id, name=name, **options)
        secret = None if keep_secret else self._read_secret()
        if not keep_secret and not secret:
            raise CommandError("No client secret given.")
        try:
            application, created = register_application(
                client_id=client_id,
                name=name,
                secret=secret,
                token_url=options["token_url"],
                api_url=options["api_url"],
                token_lifetime=options["token_lifetime"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if not application.has_secret:
            raise CommandError("The application has no client secret yet; run again without --keep-secret.")
        verb = "Registered" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} {application.name} ({application.client_id})."))

    def _validate(self, **values: Any) -> None:
        """The same field rules as the form (lengths, URLs, lifetime range, one line) before anything is stored."""
        fields = ("client_id", "name", "token_url", "api_url", "token_lifetime")
        candidate = ServiceApplication(**{f: values[f] for f in fields if values.get(f) is not None})
        problems = {}
        try:
            candidate.clean_fields()
        except ValidationError as exc:
            problems = {f: " ".join(m) for f, m in exc.message_dict.items()}
        for field in ("client_id", "name"):
            if has_control_characters(values[field]):
                problems.setdefault(field, SINGLE_LINE_MESSAGE)
        if problems:
            raise CommandError(" ".join(f"--{f.replace('_', '-')}: {m}" for f, m in problems.items()))

    def _read_secret(self) -> str:
        if os.environ.get("VISMA_CLIENT_SECRET"):
            return os.environ["VISMA_CLIENT_SECRET"].strip()
        if sys.stdin.isatty():
            return getpass.getpass("Client secret (input hidden): ").strip()
        return sys.stdin.readline().strip()
