"""After Test connection passes, Last check and the badge change on the page at once (no reload)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_last_check_updates_with_the_badge(page, sandbox, tenant, integration_admin):
    log_in(page, integration_admin.username, PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()
    page.goto(f"/tenants/{tenant.pk}/")
    last_check = page.locator("#last-check")
    assert last_check.inner_text() == "never"
    assert page.locator("#check-badge").inner_text() == "Not tested"
    page.evaluate("() => { window.notReloaded = true; }")
    page.get_by_role("button", name="Test connection").click()
    page.locator("#connection-report .step.ok").first.wait_for()
    page.wait_for_function("() => document.querySelector('#last-check').innerText.includes('all steps passed')")
    assert page.locator("#check-badge").inner_text() == "Connected"
    assert "valid until" in page.locator("#last-token").inner_text()
    assert page.evaluate("() => window.notReloaded") is True
    assert page.get_by_text("Token failures").count() == 0
    assert page.console_errors == [], page.console_errors
