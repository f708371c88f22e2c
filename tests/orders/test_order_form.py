"""The order form's rules: pickers, the error summary, tenants that cannot take orders, copies, counters, timeline."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from orders import editing, services, timeline
from orders.forms import LineFormSet, SalesOrderForm, error_summary
from orders.models import SalesOrder, SubmissionAttempt
from tenants.models import Customer, Tenant
from tests.orders.test_order_views import THREE_LINES, form_data, make_order

pytestmark = pytest.mark.django_db
State = SalesOrder.State


def new_order_url(tenant) -> str:
    return reverse("orders:order-create") + f"?tenant={tenant.pk}"


# --- pickers -------------------------------------------------------------------------------------------------------
def test_customer_picker_is_a_combobox_posting_the_customer_in_a_hidden_field(clerk_client, customers, tenant):
    page = clerk_client.get(new_order_url(tenant) + f"&customer={customers['10002'].pk}").content.decode()
    picker = re.search(r'<input[^>]*role="combobox"[^>]*data-combobox="customers"[^>]*>', page, re.S).group(0)
    assert 'id="id_customer"' in picker and 'aria-controls="id_customer-listbox"' in picker
    assert 'aria-expanded="false"' in picker and 'aria-autocomplete="list"' in picker
    assert 'value="10002 Kunde 2"' in picker
    assert f'name="customer" id="id_customer_value" value="{customers["10002"].pk}"' in page
    assert 'role="listbox" id="id_customer-listbox"' in page
    assert '<label class="form-label" for="id_customer">Customer' in page


def test_customer_options_are_listbox_options_and_say_when_nothing_or_more_matches(clerk_client, customers, tenant):
    url = reverse("orders:customer-options")
    page = clerk_client.get(url, {"tenant": tenant.pk, "q": "kunde 3"}).content.decode()
    assert f'role="option" id="customer-option-{customers["10003"].pk}"' in page
    assert f'data-value="{customers["10003"].pk}"' in page and ">10003 Kunde 3<" in page
    nothing = clerk_client.get(url, {"tenant": tenant.pk, "q": "zzz"}).content.decode()
    assert 'aria-disabled="true"' in nothing and "No active customer matches “zzz”" in nothing
    Customer.objects.bulk_create(
        Customer(tenant=tenant, number=str(20000 + i), name=f"Many {i}", status="Active") for i in range(51)
    )
    many = clerk_client.get(url, {"tenant": tenant.pk, "q": "many"}).content.decode()
    assert many.count('role="option" id="customer-option-') == 50 and "The first 50 are shown" in many


def test_text_typed_into_the_customer_picker_survives_a_failed_save(clerk_client, customers, tenant):
    data = form_data(customers["10001"], THREE_LINES[:1], customer="", customer_search="Kunde nobody")
    page = clerk_client.post(new_order_url(tenant), data).content.decode()
    assert 'value="Kunde nobody"' in page and "Choose a customer: type a number or name" in page
    assert not SalesOrder.objects.exists()


def test_each_item_field_is_a_combobox_with_its_own_listbox(clerk_client, customers, tenant):
    page = clerk_client.get(reverse("orders:line-form"), {"index": 2}).content.decode()
    item = re.search(r'<input[^>]*name="lines-2-inventory_id"[^>]*>', page).group(0)
    assert 'role="combobox"' in item and 'aria-controls="id_lines-2-inventory_id-listbox"' in item
    assert 'list="' not in item  # the browser's own datalist popup would fight the combobox
    assert 'role="listbox" id="id_lines-2-inventory_id-listbox"' in page


def test_item_suggestions_carry_what_picking_fills_in(clerk_client, tenant, sandbox):
    """Visma's v3 inventory has no price (InventoryItemAvailabilityDto: id, description, unit, availability): picking
    fills the description; an empty unit price lets Visma price the line for the customer."""
    page = clerk_client.get(reverse("orders:inventory-options"), {"tenant": tenant.pk}).content.decode()
    assert '<option value="STOCK-100">Steel bolt M8 (box of 100)</option>' in page
    assert "picking one fills in its description" in page


# --- counters instead of silent cuts -------------------------------------------------------------------------------
def test_length_limits_are_counted_not_enforced_by_the_browser(clerk_client, customers, tenant):
    page = clerk_client.get(new_order_url(tenant)).content.decode()
    assert " maxlength=" not in page
    assert re.search(r'name="customer_order"[^>]*data-maxlength="40"', page)
    assert re.search(r'name="description"[^>]*data-maxlength="255"', page)
    assert re.search(r'name="lines-0-inventory_id"[^>]*data-maxlength="30"', page)


def test_pasted_text_over_the_limit_is_kept_and_explained(clerk_client, customers, tenant):
    long_po = "P" * 45
    page = clerk_client.post(
        new_order_url(tenant), form_data(customers["10001"], THREE_LINES[:1], customer_order=long_po)
    ).content.decode()
    assert f'value="{long_po}"' in page and "at most 40 characters (it has 45)" in page


# --- error summary and Visma's errors ------------------------------------------------------------------------------
def test_a_failed_save_lists_every_problem_linking_to_its_field(clerk_client, customers, tenant):
    lines = [
        {**THREE_LINES[0], "quantity": "0"},
        {**THREE_LINES[1], "DELETE": "on"},
        {**THREE_LINES[2], "unit_price": "x"},
    ]
    data = form_data(customers["10001"], lines, customer="", date="2026-13-45")
    page = clerk_client.post(new_order_url(tenant), data).content.decode()
    summary = re.search(
        r'<div class="alert alert-danger" role="alert" tabindex="-1" id="error-summary".*?</div>', page, re.S
    )
    assert summary, page
    links = re.findall(r'<a href="#([^"]+)" data-focus-field="\1">([^<]+)</a>', summary.group(0))
    assert [target for target, _ in links] == [
        "id_customer",
        "id_date",
        "id_lines-0-quantity",
        "id_lines-2-unit_price",
    ]
    assert links[2][1] == "Line 1, Quantity: Quantity must be more than 0."
    assert links[3][1].startswith("Line 2, Unit price: ")  # the removed line is not counted
    assert "4 problems to fix" in summary.group(0)


def test_a_formset_problem_links_to_add_line(customers, tenant):
    data = form_data(customers["10001"], [{**THREE_LINES[0], "DELETE": "on"}])
    form = SalesOrderForm(data, instance=SalesOrder(tenant=tenant), tenant=tenant)
    formset = LineFormSet(data, instance=SalesOrder(tenant=tenant), prefix="lines")
    assert form.is_valid() and not formset.is_valid()
    assert [(item.text, item.target) for item in error_summary(form, formset)] == [
        ("Lines: Add at least one line.", "add-line")
    ]


def test_a_good_form_has_no_summary_and_a_get_shows_none(clerk_client, customers, tenant):
    assert "error-summary" not in clerk_client.get(new_order_url(tenant)).content.decode()


def test_visma_line_errors_outline_the_field_like_the_forms_own(clerk_client, customers, tenant):
    order = make_order(tenant, customers["10001"], items=("STOCK-100", "BOGUS"), state=State.FAILED)
    SalesOrder.objects.filter(pk=order.pk).update(
        last_error="Visma rejected the order.",
        last_error_details={
            "errors": {"orderLines[1].inventoryId": ["InventoryId cannot be found or is invalid"]},
            "details": [{"code": "1804-InventoryIdNotFound", "parameters": {"property": "orderLines[1].inventoryId"}}],
        },
    )
    page = clerk_client.get(reverse("orders:order-edit", args=[order.pk])).content.decode()
    bogus = re.search(r'<input[^>]*name="lines-1-inventory_id"[^>]*>', page).group(0)
    good = re.search(r'<input[^>]*name="lines-0-inventory_id"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in bogus and 'aria-invalid="true"' not in good
    assert "Visma: InventoryId cannot be found or is invalid" in page


# --- tenants that cannot take orders -------------------------------------------------------------------------------
def test_intake_names_what_keeps_a_tenant_from_taking_orders(tenant):
    assert editing.intake(tenant, 3) == editing.Intake()
    assert editing.intake(tenant, 0).label == "No customers synced"
    assert "No active customers are synced" in editing.intake(tenant, 0).draft_blocker
    tenant.can_write = False
    read_only = editing.intake(tenant, 3)
    assert read_only.label == "No write scope: drafts only" and "write scope" in read_only.send_blocker
    assert not read_only.draft_blocker
    tenant.can_write, tenant.token_failures = True, 2
    token = editing.intake(tenant, 3)
    assert token.label == "Token failing: drafts only" and "refused the last token request" in token.send_blocker
    tenant.active = False
    gone = editing.intake(tenant, 3)
    assert gone.label == "Deactivated" and gone.draft_blocker == gone.send_blocker == f"{tenant.name} is deactivated."


def test_tenant_chooser_marks_each_tenant_with_why_it_cannot_take_orders(clerk_client, application):
    def add(name, **fields):
        made = Tenant.objects.create(
            application=application, tenant_id=f"00000000-0000-0000-0000-00000000000{add.n}", name=name, **fields
        )
        add.n += 1
        return made

    add.n = 1
    ready = add("Aa Ready")
    Customer.objects.create(tenant=ready, number="1", name="One", status="Active")
    empty = add("Bb Empty")
    read_only = add("Cc Read only", can_write=False)
    Customer.objects.create(tenant=read_only, number="1", name="One", status="Active")
    failing = add("Dd Token failing", token_failures=3)
    Customer.objects.create(tenant=failing, number="1", name="One", status="Active")
    gone = add("Ee Gone", active=False)
    page = clerk_client.get(reverse("orders:order-create")).content.decode()

    def entry(tenant):
        return re.search(rf'<li[^>]*data-tenant-choice="{tenant.pk}".*?</li>', page, re.S).group(0)

    assert "data-blocked" not in entry(ready) and "badge" not in entry(ready)
    assert "No customers synced" in entry(empty) and "Sync its customers first" in entry(empty)
    assert "No write scope: drafts only" in entry(read_only)
    assert "Token failing: drafts only" in entry(failing)
    assert "Deactivated" in entry(gone) and "href=" not in entry(gone)
    assert f"?tenant={gone.pk}" not in page


def test_tenant_chooser_takes_a_fixed_number_of_queries(clerk_client, application, django_assert_max_num_queries):
    for index in range(12):
        made = Tenant.objects.create(
            application=application, tenant_id=f"00000000-0000-0000-0000-0000000001{index:02d}", name=f"T {index}"
        )
        Customer.objects.create(tenant=made, number="1", name="One", status="Active")
    with django_assert_max_num_queries(8):
        page = clerk_client.get(reverse("orders:order-create")).content.decode()
    assert page.count("data-tenant-choice=") == 12


def test_a_tenant_without_customers_says_why_and_offers_no_form(clerk_client, tenant):
    page = clerk_client.get(new_order_url(tenant)).content.decode()
    assert "data-tenant-blocked" in page and "No active customers are synced" in page
    assert 'id="order-form"' not in page and "Save as draft" not in page


def test_a_tenant_with_a_failing_token_takes_drafts_but_offers_no_submit(clerk_client, customers, tenant):
    Tenant.objects.filter(pk=tenant.pk).update(token_failures=1)
    page = clerk_client.get(new_order_url(tenant)).content.decode()
    assert "Visma refused the last token request" in page and "You can still save the order as a draft." in page
    assert 'value="submit"' not in page and 'value="draft">Save as draft' in page
    response = clerk_client.post(
        new_order_url(tenant), {**form_data(customers["10001"], THREE_LINES), "action": "submit"}
    )
    order = SalesOrder.objects.get()
    assert response.status_code == 302 and order.state == State.DRAFT


# --- copy ----------------------------------------------------------------------------------------------------------
def test_copy_prefills_a_new_order_form_and_names_its_source(clerk_client, customers, tenant):
    source = make_order(tenant, customers["10003"], items=("STOCK-100", "FREIGHT"), state=State.SUBMITTED)
    SalesOrder.objects.filter(pk=source.pk).update(customer_order="PO-OLD", description="Winter stock")
    page = clerk_client.get(reverse("orders:order-create") + f"?copy={source.pk}").content.decode()
    assert f'Copy of <a href="{reverse("orders:order-detail", args=[source.pk])}">{source.reference}</a>' in page
    assert "nothing is saved until you save this form" in page
    assert 'value="10003 Kunde 3"' in page and 'value="Winter stock"' in page and "PO-OLD" not in page
    assert (
        'name="lines-0-inventory_id" value="STOCK-100"' in page
        and 'name="lines-1-inventory_id" value="FREIGHT"' in page
    )
    assert 'name="lines-TOTAL_FORMS" value="2"' in page
    assert SalesOrder.objects.count() == 1


def test_a_copy_is_saved_as_a_new_draft_when_staff_save_it(clerk_client, customers, tenant):
    source = make_order(tenant, customers["10003"], state=State.SUBMITTED)
    url = reverse("orders:order-create") + f"?copy={source.pk}"
    response = clerk_client.post(url, {**form_data(customers["10003"], THREE_LINES[:2]), "action": "draft"})
    copy = SalesOrder.objects.exclude(pk=source.pk).get()
    assert response.url == reverse("orders:order-detail", args=[copy.pk])
    assert copy.state == State.DRAFT and copy.reference != source.reference
    assert list(copy.lines.values_list("inventory_id", flat=True)) == ["STOCK-100", "SERV-100"]


def test_a_copy_leaves_a_customer_no_longer_active_for_staff_to_choose(customers, tenant):
    source = make_order(tenant, customers["10008"])
    header, lines = editing.copy_initial(source)
    assert "customer" not in header and header["customer_order"] == "" and lines[0]["quantity"] == Decimal(1)


def test_copy_needs_the_right_to_build_orders(viewer_client, customers, tenant):
    source = make_order(tenant, customers["10001"])
    assert viewer_client.get(reverse("orders:order-create") + f"?copy={source.pk}").status_code == 403


# --- timeline ------------------------------------------------------------------------------------------------------
def test_edits_and_resubmissions_appear_on_the_timeline_with_who_did_them(
    clerk_client, order_clerk, customers, tenant, django_capture_on_commit_callbacks
):
    order = make_order(tenant, customers["10001"], state=State.FAILED)
    SubmissionAttempt.objects.create(order=order, kind="post", outcome="rejected", status=400)
    data = {**form_data(customers["10001"], THREE_LINES[:1]), "action": "submit"}
    with django_capture_on_commit_callbacks(execute=False):
        clerk_client.post(reverse("orders:order-edit", args=[order.pk]), data)
    rows = list(order.attempts_log.values_list("kind", "outcome", "actor"))
    assert rows == [
        ("post", "rejected", None),
        ("edit", "edited", order_clerk.pk),
        ("queue", "resubmitted", order_clerk.pk),
    ]
    page = clerk_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert f"edited by {order_clerk.username}" in page and f"resubmitted by {order_clerk.username}" in page


def test_attempts_count_what_the_timeline_shows(clerk_client, customers, tenant):
    order = make_order(tenant, customers["10001"], state=State.FAILED)
    SalesOrder.objects.filter(pk=order.pk).update(attempts=1)  # reset by the last queueing: only the latest round
    for kind, outcome in (("post", "unknown"), ("lookup", "not found"), ("post", "rejected"), ("edit", "edited")):
        SubmissionAttempt.objects.create(order=order, kind=kind, outcome=outcome)
    page = clerk_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert re.search(r"data-attempt-count>2 sends to Visma, 1 look-up ", page)
    assert page.count('data-attempt="') == 4


def test_timeline_counts_and_staff_rows_need_a_signed_in_user(customers, tenant):
    order = make_order(tenant, customers["10001"])
    timeline.record(order, timeline.EDIT, "edited", None)
    assert not order.attempts_log.exists()
    assert timeline.counts([]).label == "0 sends to Visma"
    assert services.queue(order) and not order.attempts_log.exists()  # a script's queueing adds no staff row
