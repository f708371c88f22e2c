"""Accessibility basics on every page in a real browser: one h1, a label on every input, and every action reachable
with the Tab key. The pages come from the permission matrix, so a new page is checked as soon as it is listed there.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import SalesOrder, SalesOrderLine
from tenants.models import Customer
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD
from tests.core.test_permission_matrix import MATRIX, url_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Answers meant for htmx or downloads, not pages a person lands on.
NOT_PAGES = {
    "health",
    "logout",
    "login",
    "tenants:sync-status",
    "orders:order-state",
    "orders:order-list-states",
    "orders:order-list-visma",
    "orders:order-visma",
    "orders:order-changes",
    "orders:dashboard-orders",
    "orders:line-form",
    "orders:customer-options",
    "orders:inventory-options",
    "orders:location-options",
    "orders:order-import-example",
}
PAGES = sorted(name for name, (_, _, expected) in MATRIX.items() if name not in NOT_PAGES and 200 in expected["GET"])

UNLABELLED_FIELDS = """() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter((el) => !["hidden", "submit", "button", "reset", "image"].includes(el.type))
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                  && !el.getAttribute("aria-labelledby") && !el.title)
  .map((el) => el.outerHTML.slice(0, 120))"""

# Every visible action gets an id; the Tab walk below must reach each of them. What a closed <details> holds is not
# shown (Chromium still gives it boxes): its summary is the action.
VISIBLE_ACTIONS = """() => {
  const actions = Array.from(document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], "
    + "[hx-post]:not(form), [hx-get]:not(form):not([hx-trigger^=load]):not([hx-trigger^=every])"));
  return actions
    .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden" && !el.disabled
                    && !el.closest("[hidden], [inert], details:not([open]) > :not(summary)"))
    .map((el, index) => { el.dataset.a11yAction = String(index); return index; });
}"""
FOCUSED_ACTION = "() => document.activeElement && document.activeElement.dataset.a11yAction || null"
DESCRIBE_ACTION = """(index) => {
  const el = document.querySelector(`[data-a11y-action="${index}"]`);
  return el.outerHTML.slice(0, 140);
}"""


def assert_accessible(page, where: str) -> None:
    assert page.locator("h1").count() == 1, f"{where}: {page.locator('h1').count()} h1 elements"
    unlabelled = page.evaluate(UNLABELLED_FIELDS)
    assert unlabelled == [], f"{where}: inputs without a label: {unlabelled}"

    actions = set(page.evaluate(VISIBLE_ACTIONS))
    assert actions, f"{where}: nothing to do on the page?"
    page.locator("body").focus()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    reached: set[int] = set()
    for _ in range(len(actions) + 30):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_ACTION)
        if focused is not None:
            reached.add(int(focused))
        if actions <= reached:
            break
    missing = [page.evaluate(DESCRIBE_ACTION, index) for index in sorted(actions - reached)]
    assert missing == [], f"{where}: not reachable with the keyboard: {missing}"


@pytest.fixture
def objects(sandbox, tenant, superuser):
    dto = next(c for c in sandbox.state.customers(str(tenant.tenant_id)) if c["status"] == "Active")
    customer = Customer.objects.create(tenant=tenant, number=dto["id"], name=dto["name"], status="Active")
    order = SalesOrder.objects.create(
        tenant=tenant,
        customer=customer,
        created_by=superuser,
        state=SalesOrder.State.FAILED,
        last_error="Visma rejected the request: One or more validation errors occurred.",
        last_error_status=400,
        last_error_details={
            "errors": {"orderLines[0].inventoryId": ["InventoryId cannot be found or is invalid."]},
            "details": [
                {
                    "code": "1804-InventoryIdNotFound",
                    "message": "InventoryId cannot be found or is invalid.",
                    "parameters": {"property": "orderLines[0].inventoryId"},
                }
            ],
        },
    )
    SalesOrderLine.objects.create(order=order, position=1, inventory_id="NO-SUCH-ITEM", quantity=Decimal(2))
    return {"tenant": tenant, "application": tenant.application, "customer": customer, "order": order}


def test_the_login_page(page):
    page.goto("/login/")
    assert_accessible(page, "login")
    assert page.console_errors == [], page.console_errors


def test_every_page(page, superuser, objects):
    log_in(page, superuser.username, PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()
    extra = [("orders:order-create", {}, "tenant={tenant}")]
    checked = []
    for name, kwargs, query in [(n, *MATRIX[n][:2]) for n in PAGES] + extra:
        url = url_for(name, kwargs, query, objects)
        response = page.goto(url)
        assert response.status == 200, f"{url}: {response.status}"
        page.wait_for_load_state("networkidle")
        assert_accessible(page, url)
        checked.append(url)
    assert len(checked) >= 15
    assert page.console_errors == [], page.console_errors
