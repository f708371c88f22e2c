"""System checks (`manage.py check`, and before migrate, runserver and qcluster start)."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.conf import settings
from django.core import checks

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
