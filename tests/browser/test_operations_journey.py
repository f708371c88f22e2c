from __future__ import annotations

import pytest

from tenants import sync
from tenants.models import CustomerSync
from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_from_the_dashboard_to_the_calls_of_a_sync_and_the_audit_trail(page, sandbox, tenant, viewer):
    sync.run_sync(sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False).pk)
    log_in(page, viewer.username, PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()
    page.get_by_text("All clear").wait_for()
    screenshot(page, "operations-dashboard")
    page.get_by_role("link", name=tenant.name).first.click()
    page.get_by_role("heading", name="Audit trail").wait_for()
    page.get_by_role("link", name="Visma calls of this sync").click()
    page.get_by_role("heading", name="API calls").wait_for()
    assert page.locator("tbody tr").count() >= 2
    screenshot(page, "operations-api-calls")
    assert page.console_errors == [], page.console_errors


def test_wrong_passwords_warn_then_lock_the_login_with_a_clear_message(page, settings, viewer):
    limit = settings.LOGIN_FAILURE_LIMITS["username"]
    for _ in range(limit - 1):
        log_in(page, viewer.username, "wrong-password")
    page.get_by_text("1 more wrong password and this user name is locked").wait_for()
    log_in(page, viewer.username, "wrong-password")
    page.get_by_text("even with the right password").wait_for()
    log_in(page, viewer.username, PASSWORD)
    page.get_by_text("even with the right password").wait_for()
    assert "/login/" in page.url
    screenshot(page, "operations-locked-out")


def test_logging_out_says_so(page, viewer):
    log_in(page, viewer.username, PASSWORD)
    page.get_by_role("button", name=viewer.username).click()
    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You have been logged out.").wait_for()
    assert "/login/" in page.url
    assert page.console_errors == [], page.console_errors
