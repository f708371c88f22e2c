from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_tests_the_connection_syncs_customers_and_searches_them(page, superuser, tenant, sandbox):
    log_in(page, superuser.username, PASSWORD)
    page.get_by_role("link", name="Tenants").click()
    page.get_by_role("link", name=tenant.name).click()
    page.get_by_role("button", name="Test connection").click()
    page.locator("#connection-report .badge.text-bg-success").nth(2).wait_for()
    assert page.locator("#connection-report .badge.text-bg-danger").count() == 0
    assert page.locator("#check-badge").inner_text() == "Connected"
    assert page.locator("#onboarding-checklist").get_by_text("To do").count() == 0
    screenshot(page, "tenant-connection-verified")

    page.get_by_role("button", name="Sync now").click()
    page.get_by_text("Synced", exact=True).wait_for()  # not "Never synced"
    screenshot(page, "tenant-customers-synced")

    first = sandbox.state.customers(str(tenant.tenant_id))[0]
    page.get_by_role("link", name="Customers", exact=True).click()
    page.get_by_label("Number or name").fill(first["id"])
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=first["id"]).click()
    page.get_by_role("heading", name=first["name"]).wait_for()
    screenshot(page, "customer-detail")
    assert page.console_errors == [], page.console_errors


def test_not_approved_tenant_shows_the_app_store_guidance(page, superuser, application, sandbox):
    from sandbox.seed import TENANT_NOT_APPROVED
    from tenants.models import Tenant

    tenant = Tenant.objects.create(application=application, tenant_id=TENANT_NOT_APPROVED, name="Vidde Ventures Oy")
    log_in(page, superuser.username, PASSWORD)
    page.goto(f"/tenants/{tenant.pk}/")
    page.get_by_role("button", name="Test connection").click()
    page.get_by_text("has not approved the application in the Visma App Store").wait_for()
    screenshot(page, "tenant-not-approved")
