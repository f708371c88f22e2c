"""Every page on a 390 px phone, for every role: nothing scrolls sideways. Pages come from the permission matrix, so a
new page is checked here as soon as it is listed there; the data is the kind that widens pages (long Visma errors,
several lines, synced customers, API calls, an audit trail)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders import services
from orders.models import SalesOrder, SalesOrderLine
from tenants import services as tenant_services
from tenants import sync
from tenants.models import Customer, CustomerSync, Tenant
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_accessibility import NOT_PAGES
from tests.conftest import PASSWORD
from tests.core.test_permission_matrix import ADMIN_SAMPLE, MATRIX, ROLES, url_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# What sticks out, so a failure names the element to fix rather than only the page.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + el.className;
  // A table inside .table-responsive does not widen the page but still makes its part scroll sideways.
  const scrolling = Array.from(document.querySelectorAll(".table-responsive"))
    .filter((el) => el.scrollWidth > el.clientWidth + 1)
    .map((el) => describe(el.querySelector("table") || el) + " " + el.scrollWidth);
  if (document.documentElement.scrollWidth <= width && !scrolling.length) return null;
  const wide = Array.from(document.querySelectorAll("body *"))
    .filter((el) => el.getBoundingClientRect().right > width + 1 && !el.closest(".table-responsive, pre"))
    .map((el) => describe(el) + " " + Math.round(el.getBoundingClientRect().right));
  return {scrollWidth: document.documentElement.scrollWidth, width, wide: wide.slice(0, 6), scrolling};
}"""
LONG_ERROR = (
    "Visma rejected the request: One or more validation errors occurred. "
    + "CustomerOrderNumberAlreadyUsedForThisCustomerInAnotherOpenSalesOrder " * 3
)


@pytest.fixture
def objects(sandbox, tenant, order_clerk):
    """A tenant that is verified and synced, one not approved, and orders in the states that fill a page."""
    Tenant.objects.create(application=tenant.application, tenant_id=_unapproved(), name="Vidde Ventures Oy")
    tenant_services.check_connection(tenant)
    sync.run_sync(sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False).pk)
    customer = Customer.objects.filter(tenant=tenant, status="Active").order_by("number").first()
    Customer.objects.filter(pk=customer.pk).update(name="Aktieselskabet Skandinavisk Handelskompagni og Sønner")
    order = SalesOrder.objects.create(
        tenant=tenant, customer=customer, created_by=order_clerk, description="Vinterlager til filialene i nord"
    )
    for position, item in enumerate(["STOCK-100", "STOCK-200", "SERVICE-1"], start=1):
        SalesOrderLine.objects.create(
            order=order,
            position=position,
            inventory_id=item,
            description="Ekstra langt varenavn med flere ord som må brytes på en telefon",
            quantity=Decimal("12.5"),
            unit_price=Decimal("1122.50"),
        )
    failed = SalesOrder.objects.create(
        tenant=tenant,
        customer=customer,
        created_by=order_clerk,
        state=SalesOrder.State.FAILED,
        last_error=LONG_ERROR,
        last_error_status=400,
    )
    SalesOrderLine.objects.create(order=failed, position=1, inventory_id="NO-SUCH-ITEM", quantity=Decimal(2))
    submitted = SalesOrder.objects.create(tenant=tenant, customer=customer, created_by=order_clerk)
    SalesOrderLine.objects.create(order=submitted, position=1, inventory_id="STOCK-100", quantity=Decimal(1))
    assert services.queue(submitted, order_clerk)
    services.submit(submitted.pk)
    return {
        "tenant": tenant,
        "application": tenant.application,
        "customer": customer,
        "order": order,
        "failed_order": failed,
    }


def _unapproved() -> str:
    from sandbox.seed import TENANT_NOT_APPROVED

    return TENANT_NOT_APPROVED


def _pages_for(role: str) -> list[str]:
    """Names of the pages this role opens (200) or is refused (403: that page must fit too)."""
    index = ROLES.index(role)
    return sorted(
        name for name, (_, _, expected) in MATRIX.items() if name not in NOT_PAGES and expected["GET"][index] != 405
    )


def _visit(page, url: str, where: str) -> list[str]:
    response = page.goto(url)
    assert response.status in (200, 403), f"{where} {url}: {response.status}"
    page.wait_for_load_state("networkidle")
    problem = page.evaluate(OVERFLOW)
    return [f"{where} {url}: {problem}"] if problem else []


@pytest.mark.parametrize("role", ["viewer", "clerk", "admin"])
def test_every_page_fits_a_phone_for_every_role(role, page, objects, viewer, order_clerk, integration_admin):
    user = {"viewer": viewer, "clerk": order_clerk, "admin": integration_admin}[role]
    page.set_viewport_size(PHONE)
    log_in(page, user.username, PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()
    urls = [url_for(name, *MATRIX[name][:2], objects) for name in _pages_for(role)]
    if role == "clerk":
        urls.append(url_for("orders:order-create", {}, "tenant={tenant}", objects))
        urls.append(url_for("orders:order-detail", {"pk": "failed_order"}, "", objects))
    problems = [problem for url in urls for problem in _visit(page, url, role)]
    assert len(urls) >= 12
    assert problems == [], "\n".join(problems)
    if role == "clerk":
        page.goto(url_for("orders:order-detail", {"pk": "order"}, "", objects))
        screenshot(page, "phone-order-detail")
        page.goto(url_for("orders:order-edit", {"pk": "order"}, "", objects))
        page.wait_for_load_state("networkidle")
        screenshot(page, "phone-order-form")
    if role == "admin":
        page.goto("/")
        screenshot(page, "phone-dashboard")
    refused = "status of 403"  # the pages this role may not open answer 403, which the browser reports
    assert [error for error in page.console_errors if refused not in error] == [], page.console_errors


def test_the_admin_fits_a_phone(page, objects, superuser):
    page.set_viewport_size(PHONE)
    log_in(page, superuser.username, PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()
    urls = [url_for(name, *ADMIN_SAMPLE[name][:2], objects) for name in ADMIN_SAMPLE if name != "admin:login"]
    urls.append("/admin/tenants/tenant/add/")
    problems = [problem for url in urls for problem in _visit(page, url, "superuser")]
    assert problems == [], "\n".join(problems)


def test_a_phone_shows_the_columns_that_matter(page, objects, integration_admin):
    page.set_viewport_size(PHONE)
    log_in(page, integration_admin.username, PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()
    page.goto("/tenants/")
    tenant_id = page.locator("td", has_text=str(objects["tenant"].tenant_id))
    assert not tenant_id.is_visible()  # the UUID is on the tenant's page
    page.set_viewport_size({"width": 1280, "height": 900})
    assert tenant_id.is_visible()
