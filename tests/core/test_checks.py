"""System checks: a missing or malformed FIELD_ENCRYPTION_KEY stops `manage.py check` (and every start) at once."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from core.checks import field_encryption_key

NOT_A_KEY = "not-a-fernet-key-but-a-secret-looking-value"


def test_a_missing_key_fails_manage_py_check(settings):
    settings.DEBUG = False
    settings.FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(SystemCheckError, match=r"core\.E001.*FIELD_ENCRYPTION_KEY is not set"):
        call_command("check")


def test_a_malformed_key_fails_manage_py_check_without_showing_it(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), NOT_A_KEY]
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    assert "core.E002" in str(raised.value) and "key 2 of 2" in str(raised.value)
    assert NOT_A_KEY not in str(raised.value)


def test_valid_keys_pass(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]
    assert field_encryption_key(None) == []


def test_with_debug_on_a_missing_key_only_warns(settings):
    settings.DEBUG = True
    settings.FIELD_ENCRYPTION_KEYS = []
    [message] = field_encryption_key(None)
    assert message.id == "core.W001" and not message.is_serious()
