"""Markup in text that comes from Visma (customer names, addresses, item descriptions) is shown as text in a real
browser: no script runs, no dialog opens, and the Content-Security-Policy has nothing to block."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD
from tests.test_hostile_input import FROM_VISMA, hostile_visma  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_markup_from_visma_is_text_not_code(page, order_clerk, tenant, hostile_visma):  # noqa: F811
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, order_clerk.username, PASSWORD)

    page.goto("/tenants/customers/?q=H0&size=100")
    script = FROM_VISMA[0]
    page.get_by_text(script, exact=True).first.wait_for()
    screenshot(page, "hostile-customer-names")

    customer = hostile_visma.first()
    page.goto(f"/tenants/customers/{customer.pk}/")
    page.get_by_role("heading", name=customer.name).wait_for()

    page.goto(f"/orders/new/?customer={customer.pk}")
    page.locator("#inventory-items option[value='EVIL-1']").wait_for(state="attached")
    page.get_by_role("combobox", name="Customer").fill("H0")
    page.locator("#id_customer-listbox [role=option]", has_text=script).first.wait_for()

    assert page.evaluate("() => document.querySelectorAll('script:not([src])').length") == 0
    assert page.evaluate("() => document.querySelectorAll('img[onerror], svg[onload]').length") == 0
    assert dialogs == []
    assert page.console_errors == [], page.console_errors
