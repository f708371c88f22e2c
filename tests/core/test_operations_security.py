"""Hardened login (lockout), session lifetime, CSRF on every form, and a clean deployment check."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from cryptography.fernet import Fernet
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
WRONG = "wrong-canary-password-42"


def log_in(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_the_sixth_attempt_after_five_wrong_passwords_is_refused_even_with_the_right_one(viewer):
    client = Client()
    for _ in range(4):
        response = log_in(client, viewer.username, WRONG)
        assert response.status_code == 200 and b"Please enter a correct username and password" in response.content
    fifth = log_in(client, viewer.username, WRONG)
    assert fifth.status_code == 429
    sixth = log_in(client, viewer.username, PASSWORD)
    assert sixth.status_code == 429
    assert b"locked for 30 minutes, even with the right password" in sixth.content
    assert b'name="username"' in sixth.content  # still the login page, with the reason on it
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_successful_login_resets_the_count(viewer):
    client = Client()
    for _ in range(4):
        log_in(client, viewer.username, WRONG)
    assert log_in(client, viewer.username, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert log_in(client, viewer.username, WRONG).status_code == 200
    assert log_in(client, viewer.username, PASSWORD).status_code == 302


def test_a_locked_user_name_does_not_lock_other_users(viewer, order_clerk):
    client = Client()
    for _ in range(5):
        log_in(client, viewer.username, WRONG)
    assert log_in(client, order_clerk.username, PASSWORD).status_code == 302


def test_the_admin_login_is_locked_too(superuser):
    client = Client()
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": superuser.username, "password": WRONG})
    response = client.post(reverse("admin:login"), {"username": superuser.username, "password": PASSWORD})
    assert response.status_code == 429


def test_wrong_passwords_are_not_stored(viewer):
    for _ in range(3):
        log_in(Client(), viewer.username, WRONG)
    attempt = AccessAttempt.objects.get(username=viewer.username)
    assert WRONG not in str(attempt.post_data) + str(attempt.get_data)


def test_a_session_lasts_a_working_day(viewer):
    assert settings.SESSION_COOKIE_AGE == 10 * 60 * 60
    client = Client()
    log_in(client, viewer.username, PASSWORD)
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 36000


def test_forms_without_a_csrf_token_are_refused(viewer):
    client = Client(enforce_csrf_checks=True)
    assert log_in(client, viewer.username, PASSWORD).status_code == 403


def test_every_post_form_on_the_main_pages_carries_a_csrf_token(superuser, tenant):
    client = Client()
    client.force_login(superuser)
    pages = [
        reverse("dashboard"),
        reverse("tenants:tenant-list"),
        reverse("tenants:tenant-detail", args=[tenant.pk]),
        reverse("tenants:tenant-edit", args=[tenant.pk]),
        reverse("tenants:application-detail", args=[tenant.application.pk]),
        reverse("tenants:application-edit", args=[tenant.application.pk]),
        reverse("tenants:customer-list"),
        reverse("tenants:api-call-list"),
        reverse("orders:order-list"),
    ]
    forms = 0
    for page in pages:
        html = client.get(page).content.decode()
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", html, flags=re.S | re.I):
            forms += 1
            assert "csrfmiddlewaretoken" in form, f"{page}: a POST form without a CSRF token"
    assert forms >= 5
    login = Client().get(reverse("login")).content.decode()
    assert "csrfmiddlewaretoken" in login


def test_check_deploy_is_clean_with_only_the_three_required_settings():
    """HTTPS redirect, secure cookies and HSTS are on by default: production sets nothing but these three."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ENV_FILE": "",
        "SECRET_KEY": "deploy-check-" + "k" * 50 + "Zq9!x",
        "ALLOWED_HOSTS": "portal.example.com",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
