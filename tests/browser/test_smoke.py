from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_member_logs_in_and_sees_the_dashboard(page, live_server, superuser):
    page.goto("/")
    assert "/login/" in page.url
    screenshot(page, "login")
    log_in(page, superuser.username, PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()
    assert page.url == live_server.url + "/"
    screenshot(page, "dashboard")
    assert page.console_errors == [], page.console_errors


def test_wrong_password_keeps_you_on_the_login_page(page, superuser):
    log_in(page, superuser.username, "wrong-password")
    page.get_by_text("Please enter a correct username and password").wait_for()
    assert "/login/" in page.url
