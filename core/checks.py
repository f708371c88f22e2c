"""System checks (`manage.py check`, and before migrate, runserver and qcluster start)."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.conf import settings
from django.core import checks
from django.db import DatabaseError

from . import schedules

GENERATE_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


@checks.register(checks.Tags.security)
def field_encryption_key(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Client secrets cannot be saved or read without a valid key: say so at start, not on the first save.

    A missing key is only a warning with DEBUG on, so development commands (makemigrations) run without one.
    """
    keys = [key.strip() for key in settings.FIELD_ENCRYPTION_KEYS if key.strip()]
    if not keys:
        level, id_ = (checks.Warning, "core.W001") if settings.DEBUG else (checks.Error, "core.E001")
        return [
            level(
                "FIELD_ENCRYPTION_KEY is not set: client secrets cannot be encrypted or read.",
                hint=f"Set it to a Fernet key. Generate one: {GENERATE_KEY}",
                id=id_,
            )
        ]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            errors.append(
                checks.Error(
                    f"FIELD_ENCRYPTION_KEY: key {position} of {len(keys)} is not a Fernet key "
                    "(32 bytes, url-safe base64).",
                    hint=f"Replace it with a real key (the value is not shown here). Generate one: {GENERATE_KEY}",
                    id="core.E002",
                )
            )
    return errors


@checks.register(checks.Tags.database)
def readable_schedules(app_configs, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """Run by `migrate` and `check --database default`: a schedule django-q2 cannot read stops all of them."""
    if not databases:
        return []
    try:
        rows = schedules.broken()
    except DatabaseError:  # not migrated yet
        return []
    return [
        checks.Error(
            f"django-q2 {schedules.describe(row, reason)}. While it exists no schedule runs, the order sweeper "
            "included.",
            hint="Correct or delete it in Admin → Django Q → Scheduled tasks; the next migrate recreates the portal's "
            "own schedules.",
            id="core.E003",
        )
        for row, reason in rows
    ]
