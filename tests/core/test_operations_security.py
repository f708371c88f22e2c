"""Hardened login (throttling per user name and per address), session lifetime, CSRF on every form, and a clean
deployment check."""

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

from core.security import client_ip
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
WRONG = "wrong-canary-password-42"


USER_LIMIT = settings.LOGIN_FAILURE_LIMITS["username"]
ADDRESS_LIMIT = settings.LOGIN_FAILURE_LIMITS["ip_address"]


def log_in(client: Client, username: str, password: str, address: str = "127.0.0.1", **headers):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def test_the_limits_are_per_user_name_and_per_address():
    assert (USER_LIMIT, ADDRESS_LIMIT) == (10, 20)
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60


def test_wrong_passwords_from_many_addresses_lock_the_user_name_even_for_the_right_password(viewer):
    client = Client()
    for n in range(1, USER_LIMIT):
        response = log_in(client, viewer.username, WRONG, address=f"10.0.0.{n}")
        assert response.status_code == 200 and b"Please enter a correct username and password" in response.content
    assert log_in(client, viewer.username, WRONG, address="10.0.1.1").status_code == 429
    locked = log_in(client, viewer.username, PASSWORD, address="10.0.2.2")
    assert locked.status_code == 429
    assert b"this user name is locked for 15 minutes, even with the right password" in locked.content
    assert b'name="username"' in locked.content  # still the login page, with the reason on it
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).status_code == 302


def test_wrong_passwords_for_many_user_names_lock_the_address(viewer):
    for n in range(ADDRESS_LIMIT):
        log_in(Client(), f"guess-{n}", WRONG, address="192.0.2.7")
    locked = log_in(Client(), viewer.username, PASSWORD, address="192.0.2.7")
    assert locked.status_code == 429
    assert b"log-ins from your network address are locked for 15 minutes" in locked.content
    assert log_in(Client(), viewer.username, PASSWORD, address="192.0.2.8").status_code == 302


def test_a_lock_ends_after_the_cool_off_and_tries_while_locked_do_not_prolong_it(viewer):
    for _ in range(USER_LIMIT):
        log_in(Client(), viewer.username, WRONG)
    last_failure = AccessAttempt.objects.get(username=viewer.username).attempt_time
    assert log_in(Client(), viewer.username, WRONG).status_code == 429
    assert AccessAttempt.objects.get(username=viewer.username).attempt_time == last_failure
    AccessAttempt.objects.update(attempt_time=last_failure - settings.AXES_COOLOFF_TIME)
    assert log_in(Client(), viewer.username, PASSWORD).status_code == 302


def test_the_login_form_says_how_many_attempts_are_left_when_few_are(viewer):
    client = Client()
    for _ in range(USER_LIMIT - 4):
        assert b"more wrong password" not in log_in(client, viewer.username, WRONG).content
    assert (
        b"3 more wrong passwords and this user name is locked for 15 minutes"
        in log_in(client, viewer.username, WRONG).content
    )
    log_in(client, viewer.username, WRONG)
    assert b"1 more wrong password and this user name is locked" in log_in(client, viewer.username, WRONG).content


def test_behind_a_proxy_each_client_is_counted_by_the_address_the_proxy_saw(settings, viewer):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(ADDRESS_LIMIT):
        # The load balancer appends the address it saw; what the client put before it is ignored.
        log_in(Client(), f"guess-{n}", WRONG, address="10.9.9.9", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.5")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}
    assert (
        log_in(Client(), viewer.username, PASSWORD, address="10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code
        == 429
    )
    elsewhere = log_in(Client(), viewer.username, PASSWORD, address="10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert elsewhere.status_code == 302  # the load balancer's own address is not locked


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "203.0.113.5", "10.9.9.9"),
        (1, "", "10.9.9.9"),
        (1, "1.2.3.4, 203.0.113.5", "203.0.113.5"),
        (2, "1.2.3.4, 203.0.113.5, 10.1.1.1", "203.0.113.5"),
        (1, "not-an-address", "10.9.9.9"),
    ],
)
def test_client_ip(settings, rf, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = rf.get("/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_the_lockout_is_logged_with_the_user_name_and_never_the_password(viewer, caplog):
    for _ in range(USER_LIMIT):
        log_in(Client(), viewer.username, WRONG)
    [line] = [r.getMessage() for r in caplog.records if "Locking out" in r.getMessage()]
    assert f'username: "{viewer.username}"' in line and WRONG not in caplog.text


def test_a_successful_login_resets_the_count(viewer):
    client = Client()
    for _ in range(USER_LIMIT - 1):
        log_in(client, viewer.username, WRONG)
    assert log_in(client, viewer.username, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(USER_LIMIT - 1):
        assert log_in(client, viewer.username, WRONG).status_code == 200
    assert log_in(client, viewer.username, PASSWORD).status_code == 302


def test_logging_out_says_so(viewer):
    client = Client()
    client.force_login(viewer)
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert b"You have been logged out." in response.content


def test_a_locked_user_name_does_not_lock_other_users(viewer, order_clerk):
    client = Client()
    for _ in range(USER_LIMIT):
        log_in(client, viewer.username, WRONG)
    assert log_in(client, order_clerk.username, PASSWORD).status_code == 302


def test_the_admin_login_is_locked_too(superuser):
    client = Client()
    for _ in range(USER_LIMIT):
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


def test_a_refused_form_says_what_to_do_on_a_page_the_content_security_policy_allows(viewer):
    response = Client(enforce_csrf_checks=True).post("/login/", {"username": viewer.username, "password": PASSWORD})
    page = response.content.decode()
    assert response.status_code == 403 and "This page has expired" in page and "reload the page" in page
    assert "<style" not in page and "style=" not in page  # Django's own page styles itself inline, which CSP blocks


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
