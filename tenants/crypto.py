"""Encryption at rest for client secrets: Fernet under keys from FIELD_ENCRYPTION_KEY (comma separated, newest first).

Failures are loud: a missing or wrong key raises `EncryptionKeyError`; ciphertext is never handed out as a secret.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class EncryptionKeyError(ImproperlyConfigured):
    pass


def _fernet() -> MultiFernet:
    keys = [key.strip() for key in settings.FIELD_ENCRYPTION_KEYS if key.strip()]
    if not keys:
        raise EncryptionKeyError("FIELD_ENCRYPTION_KEY is not set: client secrets cannot be encrypted or read.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise EncryptionKeyError("FIELD_ENCRYPTION_KEY holds a value that is not a Fernet key.") from None


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise EncryptionKeyError(
            "A stored client secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEY "
            "(was the key changed without keeping the old one?)."
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt with the newest key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise EncryptionKeyError(
            "A stored client secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEY."
        ) from None
