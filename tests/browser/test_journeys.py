"""Three journeys a person takes in a real browser: the first day, things going wrong, and what each role may do.

Tasks run synchronously inside the live server (test settings), so a submitted order has reached its final state
when the page after "Save and submit" loads.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from core.roles import INTEGRATION_ADMIN, ORDER_CLERK
from orders.models import SalesOrder, SalesOrderLine
from sandbox.seed import DEMO_CLIENT_ID, TENANT_FULL, TENANT_NOT_APPROVED
from tenants.models import Customer, Tenant
from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD, SANDBOX_SECRET, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
State = SalesOrder.State


def fill_line(page, index: int, item: str, quantity: str, price: str = "") -> None:
    page.locator(f"#id_lines-{index}-inventory_id").fill(item)
    page.locator(f"#id_lines-{index}-quantity").fill(quantity)
    page.locator(f"#id_lines-{index}-unit_price").fill(price)


def add_line(page, index: int) -> None:
    page.get_by_role("button", name="Add line").click()
    page.locator(f"#id_lines-{index}-inventory_id").wait_for()


def mark_page(page) -> None:
    """A flag that only survives as long as the page is not reloaded."""
    page.evaluate("window.__notReloaded = true")


def was_not_reloaded(page) -> bool:
    return page.evaluate("window.__notReloaded === true")


def received_orders(page, sandbox) -> list[dict]:
    """What the sandbox received, read from its control endpoint like a tester would."""
    return page.request.get(f"{sandbox.base_url}/_sandbox/orders").json()["orders"]


def synced_customer(sandbox, tenant) -> Customer:
    dto = next(c for c in sandbox.state.customers(str(tenant.tenant_id)) if c["status"] == "Active")
    return Customer.objects.create(tenant=tenant, number=dto["id"], name=dto["name"], status="Active")


# --- journey 1: the first day -------------------------------------------------------------------------------------
def test_first_day_from_registration_to_an_order_in_visma(page, django_user_model, sandbox):
    person = make_user(django_user_model, "frida-firstday", INTEGRATION_ADMIN)
    person.groups.add(Group.objects.get(name=ORDER_CLERK))
    log_in(page, person.username, PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()

    # Register the sandbox's service application.
    page.get_by_role("link", name="Tenants").first.click()
    page.get_by_role("link", name="New application").click()
    page.get_by_label("Name", exact=True).fill("Sales order portal (sandbox)")
    page.get_by_label("Client ID").fill(DEMO_CLIENT_ID)
    page.get_by_label("Client secret").fill(SANDBOX_SECRET)
    page.get_by_label("Token URL").fill(sandbox.token_url)
    page.get_by_label("API URL").fill(sandbox.api_url)
    screenshot(page, "journey1-01-new-application")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="Sales order portal (sandbox)").wait_for()
    assert SANDBOX_SECRET not in page.content()

    # Add the tenant that approved it.
    page.get_by_role("link", name="Tenants").first.click()
    page.get_by_role("link", name="New tenant").click()
    page.get_by_label("Application").select_option(label=f"Sales order portal (sandbox) ({DEMO_CLIENT_ID})")
    page.get_by_label("Name", exact=True).fill("Nordlys Handel AS")
    page.get_by_label("Tenant ID").fill(TENANT_FULL)
    page.get_by_label("Write scope approved").check()  # a new tenant starts read only
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="Nordlys Handel AS").wait_for()
    tenant = Tenant.objects.get(tenant_id=TENANT_FULL)

    # Test connection: three green steps, without a reload.
    mark_page(page)
    page.get_by_role("button", name="Test connection").click()
    page.locator("#connection-report .badge.text-bg-success").nth(2).wait_for()
    assert page.locator("#connection-report .badge.text-bg-danger").count() == 0
    assert was_not_reloaded(page)
    screenshot(page, "journey1-02-connection-verified")

    # Sync now: progress, then the customers.
    page.get_by_role("button", name="Sync now").click()
    page.get_by_text("Synced", exact=True).wait_for()  # not "Never synced"
    screenshot(page, "journey1-03-customers-synced")
    expected = len(sandbox.state.customers(TENANT_FULL))
    assert Customer.objects.filter(tenant=tenant).count() == expected

    # Search a customer and start an order from it.
    dto = next(c for c in sandbox.state.customers(TENANT_FULL) if c["status"] == "Active")
    page.get_by_role("link", name="Customers", exact=True).click()
    page.get_by_label("Number or name").fill(dto["id"])
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=dto["id"]).click()
    page.get_by_role("heading", name=dto["name"]).wait_for()
    page.get_by_role("link", name="New order").click()
    page.get_by_role("heading", name=f"New order for {tenant.name}").wait_for()
    chosen = Customer.objects.get(tenant=tenant, number=dto["id"])
    assert page.locator("#id_customer_value").input_value() == str(chosen.pk)

    # Three lines: four added, one removed, no reload.
    page.get_by_label("Customer's order number").fill("PO-FIRST-DAY")
    page.locator("#inventory-items option[value='STOCK-100']").wait_for(state="attached")
    mark_page(page)
    fill_line(page, 0, "STOCK-100", "2", "10,50")
    add_line(page, 1)
    fill_line(page, 1, "STOCK-300", "5", "1")
    add_line(page, 2)
    fill_line(page, 2, "FREIGHT", "1", "99")
    add_line(page, 3)
    fill_line(page, 3, "SERV-100", "3")
    page.locator("tr[data-line]").nth(1).get_by_role("button", name="Remove").click()
    assert page.locator("tr[data-line]:visible").count() == 3
    assert page.locator("[data-order-total]").inner_text() == "NOK\xa0120.00"
    assert was_not_reloaded(page)
    screenshot(page, "journey1-04-order-form")

    with page.expect_navigation():
        page.get_by_role("button", name="Save and submit").click()
    page.locator("[data-visma-number]").wait_for()
    order = SalesOrder.objects.get()
    assert order.state == State.SUBMITTED
    assert page.locator("#order-state").get_by_text("Submitted").first.is_visible()
    assert page.locator("[data-visma-number]").inner_text() == order.visma_label
    screenshot(page, "journey1-05-order-submitted")

    [received] = received_orders(page, sandbox)
    assert received["orderId"] == order.visma_number and received["customerRefNo"] == order.reference
    assert received["body"]["customer"]["id"] == dto["id"]
    assert received["body"]["customer"]["order"] == "PO-FIRST-DAY"
    assert received["body"]["orderLines"] == [
        {"inventoryId": "STOCK-100", "quantity": 2.0, "unitPrice": 10.5, "hasManualPrice": True},
        {"inventoryId": "FREIGHT", "quantity": 1.0, "unitPrice": 99.0, "hasManualPrice": True},
        {"inventoryId": "SERV-100", "quantity": 3.0},
    ]
    assert page.console_errors == [], page.console_errors


# --- journey 2: things go wrong -----------------------------------------------------------------------------------
def test_things_go_wrong_and_are_put_right(page, django_user_model, application, tenant, sandbox):
    person = make_user(django_user_model, "gard-wrong", INTEGRATION_ADMIN)
    person.groups.add(Group.objects.get(name=ORDER_CLERK))
    stranger = Tenant.objects.create(application=application, tenant_id=TENANT_NOT_APPROVED, name="Vidde Ventures Oy")
    customer = synced_customer(sandbox, tenant)
    log_in(page, person.username, PASSWORD)

    # A tenant that has not approved the application: the App Store guidance.
    page.goto(f"/tenants/{stranger.pk}/")
    page.get_by_role("button", name="Test connection").click()
    page.get_by_text("has not approved the application in the Visma App Store").wait_for()
    page.get_by_text("invitation code").first.wait_for()
    screenshot(page, "journey2-01-not-approved")

    # An order whose second line has an item Visma does not know.
    page.goto(f"/orders/new/?customer={customer.pk}")
    page.locator("#inventory-items option[value='STOCK-100']").wait_for(state="attached")
    fill_line(page, 0, "STOCK-100", "1", "10")
    add_line(page, 1)
    fill_line(page, 1, "NO-SUCH-ITEM", "2", "5")
    add_line(page, 2)
    fill_line(page, 2, "FREIGHT", "1", "99")
    with page.expect_navigation():
        page.get_by_role("button", name="Save and submit").click()
    page.locator("[data-order-error]").wait_for()
    order = SalesOrder.objects.get()
    assert order.state == State.FAILED
    problem = page.locator("[data-problem]").filter(has_text="1804-InventoryIdNotFound")
    assert "Line 2" in problem.inner_text()
    assert received_orders(page, sandbox) == []
    screenshot(page, "journey2-02-order-failed")

    # Fix line 2 where Visma's message stands, resubmit.
    page.get_by_role("link", name="Fix and edit").click()
    second = page.locator("tr[data-line]").nth(1)
    assert "InventoryId cannot be found" in second.locator("[data-visma-error]").inner_text()
    assert page.locator("tr[data-line]").nth(0).locator("[data-visma-error]").count() == 0
    screenshot(page, "journey2-03-error-on-line-2")
    second.get_by_label("Item", exact=True).fill("STOCK-200")
    with page.expect_navigation():
        page.get_by_role("button", name="Save and submit").click()
    page.locator("[data-visma-number]").wait_for()
    order.refresh_from_db()
    assert order.state == State.SUBMITTED
    [received] = received_orders(page, sandbox)
    assert [line["inventoryId"] for line in received["body"]["orderLines"]] == ["STOCK-100", "STOCK-200", "FREIGHT"]
    screenshot(page, "journey2-04-resubmitted")
    assert page.console_errors == [], page.console_errors


# --- journey 3: roles ---------------------------------------------------------------------------------------------
def post_as_the_page(page, path: str):
    """A POST with the session and CSRF token the browser holds, as a hand-made request would send it."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return page.request.post(path, headers={"X-CSRFToken": token, "Referer": page.url}, form={})


def test_a_viewer_sees_orders_but_cannot_submit_them(page, viewer, tenant, sandbox, order_clerk):
    customer = synced_customer(sandbox, tenant)
    order = SalesOrder.objects.create(tenant=tenant, customer=customer, created_by=order_clerk)
    SalesOrderLine.objects.create(order=order, position=1, inventory_id="STOCK-100", quantity=1)
    log_in(page, viewer.username, PASSWORD)

    page.get_by_role("link", name="Orders").first.click()
    page.get_by_role("link", name=order.reference).wait_for()
    assert page.get_by_role("link", name="New order").count() == 0
    assert page.locator("#bulk-action").count() == 0
    page.get_by_role("link", name=order.reference).click()
    page.get_by_role("heading", name=f"Order {order.reference}").wait_for()
    for action in ("Submit to Visma", "Edit", "Cancel order", "Copy order"):
        assert page.get_by_role("button", name=action).count() == 0
        assert page.get_by_role("link", name=action, exact=True).count() == 0
    screenshot(page, "journey3-01-viewer-order")

    assert post_as_the_page(page, f"/orders/{order.pk}/submit/").status == 403
    assert post_as_the_page(page, f"/orders/{order.pk}/cancel/").status == 403
    order.refresh_from_db()
    assert order.state == State.DRAFT and received_orders(page, sandbox) == []
    assert page.console_errors == [], page.console_errors


def test_an_order_clerk_cannot_see_secrets_or_edit_applications(page, order_clerk, application, tenant):
    log_in(page, order_clerk.username, PASSWORD)
    page.get_by_role("link", name="Tenants").first.click()
    assert page.get_by_role("link", name="New application").count() == 0
    assert page.get_by_role("link", name="New tenant").count() == 0
    page.get_by_role("link", name=application.name).click()
    page.get_by_role("heading", name=application.name).wait_for()
    assert page.get_by_role("link", name="Edit").count() == 0
    assert page.get_by_role("button", name="Deactivate").count() == 0
    assert SANDBOX_SECRET not in page.content()
    screenshot(page, "journey3-02-clerk-application")

    page.goto(f"/tenants/applications/{application.pk}/edit/")
    page.get_by_role("heading", name="You are not allowed to do that").wait_for()
    assert post_as_the_page(page, f"/tenants/applications/{application.pk}/edit/").status == 403
    assert post_as_the_page(page, f"/tenants/applications/{application.pk}/deactivate/").status == 403
    application.refresh_from_db()
    assert application.active and application.client_secret() == SANDBOX_SECRET
