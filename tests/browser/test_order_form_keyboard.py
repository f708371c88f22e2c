"""The order form by keyboard in a real browser: the comboboxes, focus after Add line, the error summary, a tenant
that cannot take orders, and Copy order saving nothing until staff save."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.models import SalesOrder, SalesOrderLine
from tenants.models import Customer, Tenant
from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def customers(tenant):
    rows = [Customer(tenant=tenant, number=str(10000 + i), name=f"Kunde {i}", status="Active") for i in range(4)]
    rows.append(Customer(tenant=tenant, number="20000", name="Fjord Fisk AS", status="Active"))
    return {c.number: c for c in Customer.objects.bulk_create(rows)}


@pytest.fixture
def clerk_page(page, order_clerk):
    log_in(page, order_clerk.username, PASSWORD)
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


def open_new_order(page, tenant) -> None:
    page.goto(reverse("orders:order-create") + f"?tenant={tenant.pk}")
    page.locator("#inventory-items option[value='STOCK-100']").wait_for(state="attached")


def test_customer_combobox_filters_moves_with_arrows_and_enter_picks_without_submitting(
    clerk_page, tenant, customers, sandbox
):
    page = clerk_page
    open_new_order(page, tenant)
    picker = page.get_by_role("combobox", name="Customer")
    picker.press_sequentially("kunde")
    listbox = page.locator("#id_customer-listbox")
    listbox.get_by_role("option", name="10003 Kunde 3").wait_for()
    assert picker.get_attribute("aria-expanded") == "true"
    assert listbox.get_by_role("option").count() == 4
    assert page.locator("#combobox-status").inner_text() == "4 matches, arrow keys to choose"

    picker.press("ArrowDown")
    picker.press("ArrowDown")
    assert picker.get_attribute("aria-activedescendant") == f"customer-option-{customers['10001'].pk}"
    assert listbox.locator('[aria-selected="true"]').inner_text() == "10001 Kunde 1"
    picker.press("ArrowUp")
    assert picker.get_attribute("aria-activedescendant") == f"customer-option-{customers['10000'].pk}"
    picker.press("ArrowDown")
    picker.press("Enter")

    assert picker.input_value() == "10001 Kunde 1"
    assert page.locator("#id_customer_value").input_value() == str(customers["10001"].pk)
    assert picker.get_attribute("aria-expanded") == "false" and listbox.is_hidden()
    assert page.url.endswith(f"?tenant={tenant.pk}") and "error-summary" not in page.content()
    assert not SalesOrder.objects.exists()

    # Escape closes the list and keeps what was typed.
    picker.fill("")
    picker.press_sequentially("kun")
    listbox.get_by_role("option").first.wait_for()
    picker.press("Escape")
    assert listbox.is_hidden() and picker.input_value() == "kun"
    assert page.locator("#id_customer_value").input_value() == ""
    assert page.console_errors == [], page.console_errors


def test_a_single_match_is_picked_with_enter_even_before_the_list_arrives(clerk_page, tenant, customers, sandbox):
    page = clerk_page
    open_new_order(page, tenant)
    picker = page.get_by_role("combobox", name="Customer")
    picker.fill("fjord")
    picker.press("Enter")  # typed faster than the matches came back
    page.wait_for_function("() => document.getElementById('id_customer_value').value !== ''")
    assert picker.input_value() == "20000 Fjord Fisk AS"
    assert page.locator("#id_customer_value").input_value() == str(customers["20000"].pk)
    assert not SalesOrder.objects.exists()


def test_item_combobox_picks_with_the_keyboard_and_fills_the_description(clerk_page, tenant, customers, sandbox):
    page = clerk_page
    open_new_order(page, tenant)
    item = page.locator("#id_lines-0-inventory_id")
    item.press_sequentially("bolt")
    page.locator("#id_lines-0-inventory_id-listbox").get_by_role("option").first.wait_for()
    item.press("ArrowDown")
    item.press("Enter")
    assert item.input_value() == "STOCK-100"
    assert page.locator("#id_lines-0-description").input_value() == "Steel bolt M8 (box of 100)"
    assert page.locator("#id_lines-0-unit_price").input_value() == ""  # Visma prices it for the customer
    assert not SalesOrder.objects.exists()

    # The description stays editable, and a single match is picked with Enter.
    page.locator("#id_lines-0-description").fill("Bolts for the pier")
    page.get_by_role("button", name="Add line").click()
    second = page.locator("#id_lines-1-inventory_id")
    second.wait_for()
    second.press_sequentially("FREIGHT")
    page.locator("#id_lines-1-inventory_id-listbox").get_by_role("option").first.wait_for()
    second.press("Enter")
    assert page.locator("#id_lines-1-description").input_value() != ""
    assert page.locator("#id_lines-0-description").input_value() == "Bolts for the pier"


def test_add_line_puts_focus_on_the_new_lines_item(clerk_page, tenant, customers, sandbox):
    page = clerk_page
    open_new_order(page, tenant)
    for index in (1, 2):
        page.get_by_role("button", name="Add line").click()
        page.locator(f"#id_lines-{index}-inventory_id").wait_for()
        page.wait_for_function(
            f"() => document.activeElement && document.activeElement.id === 'id_lines-{index}-inventory_id'"
        )
    page.keyboard.type("SERV-100")
    assert page.locator("#id_lines-2-inventory_id").input_value() == "SERV-100"


def test_a_failed_save_focuses_the_error_summary_whose_links_focus_each_field(clerk_page, tenant, customers, sandbox):
    page = clerk_page
    open_new_order(page, tenant)
    page.locator("#id_lines-0-inventory_id").fill("STOCK-100")
    page.locator("#id_lines-0-quantity").fill("0")
    page.get_by_label("Customer's order number").fill("P" * 45)  # pasted too long: kept, counted, explained
    assert page.locator("#id_customer_order-count").inner_text() == "45 of 40 characters: 5 too many"
    with page.expect_navigation():
        page.get_by_role("button", name="Save as draft").click()

    summary = page.get_by_role("alert").filter(has_text="Nothing was saved")
    summary.wait_for()
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'error-summary'")
    links = summary.get_by_role("link")
    assert links.all_inner_texts() == [
        "Customer: Choose a customer: type a number or name and pick one from the list.",
        "Customer's order number: Ensure this value has at most 40 characters (it has 45).",
        "Line 1, Quantity: Quantity must be more than 0.",
    ]
    assert page.get_by_label("Customer's order number").input_value() == "P" * 45
    screenshot(page, "order-form-error-summary")
    links.nth(2).click()
    assert page.evaluate("() => document.activeElement.id") == "id_lines-0-quantity"
    links.nth(0).click()
    assert page.evaluate("() => document.activeElement.id") == "id_customer"
    assert not SalesOrder.objects.exists()


def test_a_tenant_that_cannot_take_orders_says_why_before_anything_is_typed(clerk_page, tenant, customers, sandbox):
    Tenant.objects.filter(pk=tenant.pk).update(can_write=False)
    empty = Tenant.objects.create(
        application=tenant.application, tenant_id="11111111-2222-3333-4444-555555555555", name="Tom Tenant AS"
    )
    page = clerk_page
    page.goto(reverse("orders:order-create"))
    entry = page.locator(f"[data-tenant-choice='{tenant.pk}']")
    assert "No write scope: drafts only" in entry.inner_text()
    assert "No customers synced" in page.locator(f"[data-tenant-choice='{empty.pk}']").inner_text()

    page.get_by_role("link", name=tenant.name).click()
    assert "has not approved the write scope" in page.locator("[data-tenant-blocked]").inner_text()
    assert page.get_by_role("button", name="Save and submit").count() == 0
    assert page.get_by_role("button", name="Save as draft").is_visible()

    page.goto(reverse("orders:order-create"))
    page.get_by_role("link", name="Tom Tenant AS").click()
    assert "No active customers are synced" in page.locator("[data-tenant-blocked]").inner_text()
    assert page.locator("#order-form").count() == 0
    screenshot(page, "order-form-tenant-without-customers")


def test_copy_order_opens_a_prefilled_form_and_saves_nothing_until_saved(clerk_page, tenant, customers, sandbox):
    source = SalesOrder.objects.create(
        tenant=tenant, customer=customers["10002"], customer_order="PO-1", state=SalesOrder.State.SUBMITTED
    )
    SalesOrderLine.objects.create(order=source, position=1, inventory_id="STOCK-100", quantity=3)
    page = clerk_page
    page.goto(reverse("orders:order-detail", args=[source.pk]))
    with page.expect_navigation():
        page.get_by_role("button", name="Copy order").click()
    assert f"Copy of {source.reference}" in page.locator("[data-copied-from]").inner_text()
    assert page.get_by_role("combobox", name="Customer").input_value() == "10002 Kunde 2"
    assert page.locator("#id_lines-0-inventory_id").input_value() == "STOCK-100"
    assert page.get_by_label("Customer's order number").input_value() == ""
    assert SalesOrder.objects.count() == 1

    page.goto(reverse("orders:order-list"))  # walking away keeps nothing
    assert SalesOrder.objects.count() == 1
    page.go_back()
    page.get_by_label("Customer's order number").fill("PO-2")
    with page.expect_navigation():
        page.get_by_role("button", name="Save as draft").click()
    copy = SalesOrder.objects.exclude(pk=source.pk).get()
    assert copy.state == SalesOrder.State.DRAFT and copy.customer_order == "PO-2"
    assert list(copy.lines.values_list("inventory_id", flat=True)) == ["STOCK-100"]
    assert page.console_errors == [], page.console_errors
