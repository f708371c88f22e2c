"""The order screens: build with lines, validate, submit through django-q2 to the sandbox, fix and resubmit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from orders import editing, services
from orders.models import SalesOrder, SalesOrderLine
from sandbox.seed import TENANT_READ_ONLY
from tenants.models import Customer, Tenant

pytestmark = pytest.mark.django_db
State = SalesOrder.State


def form_data(chosen, lines, **header) -> dict:
    data = {
        "tenant": chosen.tenant_id,
        "customer": chosen.pk,
        "order_type": "SO",
        "date": "2026-11-25",
        "customer_order": "PO-4711",
        "description": "Winter stock",
        "status": "Open",
        "note": "",
        "lines-TOTAL_FORMS": len(lines),
        "lines-INITIAL_FORMS": 0,
        "lines-MIN_NUM_FORMS": 1,
        "lines-MAX_NUM_FORMS": 500,
    }
    for index, line in enumerate(lines):
        for name, value in line.items():
            data[f"lines-{index}-{name}"] = value
    return {**data, **header}


THREE_LINES = [
    {"inventory_id": "STOCK-100", "description": "Bolts", "quantity": "2", "unit_price": "101.25"},
    {"inventory_id": "SERV-100", "quantity": "1,5", "unit_price": "", "tax_category": "HIGH"},
    {"inventory_id": "FREIGHT", "quantity": "1", "unit_price": "99"},
]


def make_order(tenant, customer, items=("STOCK-100",), state=State.DRAFT) -> SalesOrder:
    order = SalesOrder.objects.create(tenant=tenant, customer=customer, state=state)
    SalesOrderLine.objects.bulk_create(
        SalesOrderLine(order=order, position=i, inventory_id=item, quantity=Decimal(1), unit_price=Decimal(10))
        for i, item in enumerate(items, 1)
    )
    return order


def test_clerk_saves_a_draft_with_three_lines_numbered_in_order(clerk_client, customers):
    customer = customers["10001"]
    response = clerk_client.post(
        reverse("orders:order-create") + f"?customer={customer.pk}", form_data(customer, THREE_LINES)
    )
    order = SalesOrder.objects.get()
    assert response.status_code == 302 and response.url == reverse("orders:order-detail", args=[order.pk])
    assert order.state == State.DRAFT and order.customer_order == "PO-4711" and order.created_by.username
    lines = list(order.lines.values_list("position", "inventory_id", "quantity", "unit_price"))
    assert lines == [
        (1, "STOCK-100", Decimal("2"), Decimal("101.25")),
        (2, "SERV-100", Decimal("1.5"), None),
        (3, "FREIGHT", Decimal("1"), Decimal("99")),
    ]


def test_save_and_submit_reaches_visma_once_with_the_exact_lines(
    clerk_client, customers, sandbox, django_capture_on_commit_callbacks
):
    customer = customers["10001"]
    with django_capture_on_commit_callbacks(execute=True):
        clerk_client.post(reverse("orders:order-create"), form_data(customer, THREE_LINES, action="submit"))
    order = SalesOrder.objects.get()
    response = clerk_client.get(reverse("orders:order-detail", args=[order.pk]))
    assert order.state == State.SUBMITTED and order.visma_label == "SO 000001"
    [stored] = sandbox.state.orders()
    assert [(line["inventoryId"], line["quantity"]) for line in stored["body"]["orderLines"]] == [
        ("STOCK-100", 2.0),
        ("SERV-100", 1.5),
        ("FREIGHT", 1.0),
    ]
    assert stored["body"] == order.sent_payload
    page = response.content.decode()
    assert "SO 000001" in page and "JSON sent to Visma" in page


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"customer": ""}, "customer", "Choose a customer: type a number or name"),
        ({"lines-0-quantity": "0"}, "quantity", "Quantity must be more than 0."),
        ({"lines-0-quantity": "-3"}, "quantity", "Quantity must be more than 0."),
        ({"lines-0-quantity": "1.123456"}, "quantity", "At most 4 decimals."),
        ({"lines-0-unit_price": "-1"}, "unit_price", "Unit price cannot be negative."),
        ({"lines-0-unit_price": "1e30"}, "unit_price", "Write the number out"),
        ({"lines-0-unit_price": "123456789012.34"}, "unit_price", "Too large (at most 11 digits before the decimal"),
        ({"lines-0-quantity": "1_000"}, "quantity", "is not a number"),
        ({"lines-0-quantity": "١٢٣"}, "quantity", "is not a number"),
        ({"lines-0-inventory_id": ""}, "inventory_id", "This field is required"),
        ({"lines-0-inventory_id": "X" * 31}, "inventory_id", "at most 30 characters"),
        ({"description": "d" * 256}, "description", "at most 255 characters"),
        ({"customer_order": "c" * 41}, "customer_order", "at most 40 characters"),
        ({"order_type": "S!"}, "order_type", "Choose one of the order types set up for this tenant: SO."),
        ({"date": "2026-13-45"}, "date", "Enter a valid date"),
        ({"status": "Completed"}, "status", "Select a valid choice"),
    ],
)
def test_invalid_input_is_shown_next_to_the_field_and_nothing_is_saved(clerk_client, customers, change, field, message):
    data = form_data(customers["10001"], THREE_LINES[:1], **change)
    response = clerk_client.post(reverse("orders:order-create"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert 'aria-invalid="true"' in page
    assert not SalesOrder.objects.exists()


def test_an_order_needs_at_least_one_line(clerk_client, customers):
    data = form_data(customers["10001"], [{**THREE_LINES[0], "DELETE": "on"}])
    response = clerk_client.post(reverse("orders:order-create"), data)
    assert "Add at least one line" in response.content.decode() or "at least 1" in response.content.decode()
    assert not SalesOrder.objects.exists()


def test_only_active_customers_of_the_tenant_can_be_chosen(clerk_client, customers, application):
    other = Tenant.objects.create(application=application, tenant_id=TENANT_READ_ONLY, name="Other")
    stranger = Customer.objects.create(tenant=other, number="10001", name="Elsewhere", status="Active")
    for customer in (customers["10008"], stranger):
        data = {**form_data(customers["10001"], THREE_LINES[:1]), "customer": customer.pk}
        response = clerk_client.post(reverse("orders:order-create") + f"?tenant={customers['10001'].tenant_id}", data)
        assert "Choose one of the tenant&#x27;s active customers" in response.content.decode()
    assert not SalesOrder.objects.exists()


def test_rejected_order_shows_vismas_message_on_the_line_and_can_be_fixed_and_resubmitted(
    clerk_client, customers, sandbox, django_capture_on_commit_callbacks
):
    lines = [THREE_LINES[0], {**THREE_LINES[2], "inventory_id": "NO-SUCH-ITEM"}]
    with django_capture_on_commit_callbacks(execute=True):
        clerk_client.post(reverse("orders:order-create"), form_data(customers["10002"], lines, action="submit"))
    order = SalesOrder.objects.get()
    assert order.state == State.FAILED and order.last_error_status == 400
    detail = clerk_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert "Line 2, Item</strong> — InventoryId cannot be found or is invalid." in detail
    assert "1804-InventoryIdNotFound" in detail and "pick one from the suggestions" in detail
    assert detail.count('class="table-danger"') == 1  # line 2 is marked in the lines table too

    edit = clerk_client.get(reverse("orders:order-edit", args=[order.pk])).content.decode()
    assert "Visma: InventoryId cannot be found or is invalid." in edit

    fixed = form_data(customers["10002"], [THREE_LINES[0], THREE_LINES[2]], action="submit")
    fixed["lines-INITIAL_FORMS"] = 0
    with django_capture_on_commit_callbacks(execute=True):
        clerk_client.post(reverse("orders:order-edit", args=[order.pk]), fixed)
    order.refresh_from_db()
    assert order.state == State.SUBMITTED and order.visma_number
    assert len(sandbox.state.orders()) == 1
    assert list(order.lines.values_list("inventory_id", flat=True)) == ["STOCK-100", "FREIGHT"]


def test_viewer_sees_orders_without_controls_and_is_refused_when_posting(viewer_client, customers, tenant):
    order = make_order(tenant, customers["10001"])
    listing = viewer_client.get(reverse("orders:order-list")).content.decode()
    assert order.reference in listing and "With selected" not in listing and "New order" not in listing
    detail = viewer_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert "Submit to Visma" not in detail and "Cancel order" not in detail and "Edit" not in detail
    for name in ("orders:order-submit", "orders:order-cancel", "orders:order-copy"):
        assert viewer_client.post(reverse(name, args=[order.pk])).status_code == 403
    assert viewer_client.post(reverse("orders:order-bulk"), {"action": "submit", "orders": [order.pk]}).status_code
    assert viewer_client.get(reverse("orders:order-create")).status_code == 403
    order.refresh_from_db()
    assert order.state == State.DRAFT


def test_submit_controls_are_hidden_for_a_tenant_without_the_write_scope(clerk_client, customers, tenant):
    Tenant.objects.filter(pk=tenant.pk).update(can_write=False)
    order = make_order(tenant, customers["10001"])
    detail = clerk_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert "Submit to Visma" not in detail and "has not approved the write scope" in detail
    form = clerk_client.get(reverse("orders:order-edit", args=[order.pk])).content.decode()
    assert "Save and submit" not in form
    response = clerk_client.post(reverse("orders:order-submit", args=[order.pk]), follow=True)
    assert "was not sent" in response.content.decode()
    order.refresh_from_db()
    assert order.state == State.DRAFT


def test_queued_and_submitted_orders_cannot_be_edited(clerk_client, customers, tenant):
    for state in (State.QUEUED, State.SUBMITTING, State.SUBMITTED, State.CANCELLED):
        order = make_order(tenant, customers["10001"], state=state)
        response = clerk_client.get(reverse("orders:order-edit", args=[order.pk]))
        assert response.status_code == 302 and response.url == reverse("orders:order-detail", args=[order.pk])
        data = form_data(customers["10001"], THREE_LINES[:1])
        clerk_client.post(reverse("orders:order-edit", args=[order.pk]), data)
        assert order.lines.get().inventory_id == "STOCK-100"


def test_an_edit_that_loses_the_race_against_a_submit_changes_nothing(customers, tenant):
    order = make_order(tenant, customers["10001"])
    SalesOrder.objects.filter(pk=order.pk).update(state=State.QUEUED)
    with pytest.raises(editing.NotEditable):
        editing.save(order, [{"inventory_id": "FREIGHT", "quantity": Decimal(1)}])
    assert order.lines.get().inventory_id == "STOCK-100"


def test_cancel_draft_and_queued_but_not_submitted(clerk_client, customers, tenant):
    draft = make_order(tenant, customers["10001"])
    queued = make_order(tenant, customers["10001"], state=State.QUEUED)
    done = make_order(tenant, customers["10001"], state=State.SUBMITTED)
    for order in (draft, queued, done):
        clerk_client.post(reverse("orders:order-cancel", args=[order.pk]))
    states = dict(SalesOrder.objects.values_list("pk", "state"))
    assert (states[draft.pk], states[queued.pk], states[done.pk]) == (State.CANCELLED, State.CANCELLED, State.SUBMITTED)


def test_copy_opens_a_new_order_form_and_saves_nothing(clerk_client, customers, tenant):
    source = make_order(tenant, customers["10003"], items=("STOCK-100", "FREIGHT"), state=State.SUBMITTED)
    response = clerk_client.post(reverse("orders:order-copy", args=[source.pk]))
    assert response.url == reverse("orders:order-create") + f"?copy={source.pk}"
    assert SalesOrder.objects.get() == source


def test_order_list_filters_counts_states_and_keeps_a_fixed_number_of_queries(
    viewer_client, customers, tenant, django_assert_max_num_queries
):
    for index in range(5):
        make_order(tenant, customers[str(10000 + index)], items=("STOCK-100", "FREIGHT"))
    url = reverse("orders:order-list")
    with django_assert_max_num_queries(8):
        small = viewer_client.get(url)
    for index in range(55):
        make_order(tenant, customers["10005"], state=State.FAILED if index % 2 else State.SUBMITTED)
    with django_assert_max_num_queries(8):
        large = viewer_client.get(url)
    assert small.status_code == large.status_code == 200
    assert large.context["states"][4] == ("failed", "Failed", 27)
    assert large.context["total_count"] == 60 and len(large.context["page"].object_list) == 50
    first = large.context["page"].object_list[0]
    assert first.line_count == 1 and first.total == Decimal(10)

    only_failed = viewer_client.get(url, {"state": "failed", "tenant": tenant.pk})
    assert only_failed.context["page"].paginator.count == 27
    by_customer = viewer_client.get(url, {"q": "Kunde 3"})
    assert by_customer.context["page"].paginator.count == 1
    by_date = viewer_client.get(url, {"from": "2999-01-01"})
    assert by_date.context["page"].paginator.count == 0
    hostile = viewer_client.get(
        url, {"state": "<x>", "tenant": "abc", "from": "nonsense", "page": "-1", "customer": "9" * 30}
    )
    assert hostile.status_code == 200


def test_add_line_returns_a_row_and_bumps_the_formset_count(clerk_client):
    response = clerk_client.get(reverse("orders:line-form"), {"index": 3})
    page = response.content.decode()
    assert 'name="lines-3-inventory_id"' in page
    assert 'name="lines-TOTAL_FORMS" value="4"' in page and "index=4" in page
    assert clerk_client.get(reverse("orders:line-form"), {"index": "x"}).status_code == 404


def test_customer_search_offers_matching_active_customers_only(clerk_client, customers, tenant):
    response = clerk_client.get(reverse("orders:customer-options"), {"tenant": tenant.pk, "q": "kunde 3"})
    page = response.content.decode()
    assert "10003 Kunde 3" in page and "Paused" not in page and "Kunde 4" not in page
    paused = clerk_client.get(reverse("orders:customer-options"), {"tenant": tenant.pk, "q": "Paused"})
    assert "No active customer matches" in paused.content.decode()


def test_item_suggestions_come_from_the_tenants_inventory_and_are_cached(clerk_client, tenant, sandbox):
    first = clerk_client.get(reverse("orders:inventory-options"), {"tenant": tenant.pk}).content.decode()
    assert '<option value="STOCK-100">Steel bolt M8 (box of 100)</option>' in first
    sandbox.state.set_faults([{"path": "/api/v3/Inventory", "kind": "500"}])
    again = clerk_client.get(reverse("orders:inventory-options"), {"tenant": tenant.pk}).content.decode()
    assert again == first


def test_item_suggestions_explain_when_visma_cannot_give_them(clerk_client, tenant, sandbox):
    sandbox.state.set_faults([{"path": "/api/v3/Inventory", "kind": "500"}])
    page = clerk_client.get(reverse("orders:inventory-options"), {"tenant": tenant.pk}).content.decode()
    assert "Item suggestions are unavailable" in page and "You can still type item numbers." in page


def test_state_card_polls_while_in_flight_and_reloads_the_page_when_settled(clerk_client, customers, tenant):
    order = make_order(tenant, customers["10001"], state=State.QUEUED)
    url = reverse("orders:order-state", args=[order.pk])
    polling = clerk_client.get(url, {"was": "queued", "attempts": "0"})
    assert 'hx-trigger="every 2s"' in polling.content.decode() and "HX-Refresh" not in polling
    SalesOrder.objects.filter(pk=order.pk).update(attempts=1)  # an attempt happened: the timeline has news
    assert clerk_client.get(url, {"was": "queued", "attempts": "0"})["HX-Refresh"] == "true"
    SalesOrder.objects.filter(pk=order.pk).update(state=State.SUBMITTED, visma_type="SO", visma_number="000042")
    settled = clerk_client.get(url, {"was": "queued", "attempts": "1"})
    assert settled["HX-Refresh"] == "true" and "SO 000042" in settled.content.decode()


def test_an_order_whose_answer_was_lost_says_it_is_being_looked_up(clerk_client, customers, tenant):
    order = make_order(tenant, customers["10001"], state=State.SUBMITTING)
    order.attempts_log.create(kind="post", outcome="unknown")
    SalesOrder.objects.filter(pk=order.pk).update(attempts=1, last_error="Outcome unknown; Visma answered HTTP 500")
    page = clerk_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert "the portal is looking the order up in Visma before anything is sent again" in page


def test_the_order_failed_incident_closes_when_the_order_reaches_visma(
    clerk_client, customers, sandbox, django_capture_on_commit_callbacks
):
    from tenants.notifications import Incident

    lines = [THREE_LINES[0], {**THREE_LINES[2], "inventory_id": "NOPE"}]
    with django_capture_on_commit_callbacks(execute=True):
        clerk_client.post(reverse("orders:order-create"), form_data(customers["10002"], lines, action="submit"))
    order = SalesOrder.objects.get()
    assert Incident.objects.get(key=f"order:{order.pk}").is_open
    fixed = form_data(customers["10002"], [THREE_LINES[0], THREE_LINES[2]], action="submit")
    with django_capture_on_commit_callbacks(execute=True):
        clerk_client.post(reverse("orders:order-edit", args=[order.pk]), fixed)
    assert not Incident.objects.get(key=f"order:{order.pk}").is_open


def test_new_order_page_offers_tenants_then_prefills_the_customer(clerk_client, customers, tenant):
    choose = clerk_client.get(reverse("orders:order-create")).content.decode()
    assert tenant.name in choose and "which tenant" in choose
    form = clerk_client.get(reverse("orders:order-create"), {"customer": customers["10004"].pk})
    assert form.context["form"].initial["customer"] == customers["10004"]
    assert "Kunde 4" in form.content.decode()


def test_customer_page_links_to_a_new_order(clerk_client, customers):
    page = clerk_client.get(reverse("tenants:customer-detail", args=[customers["10001"].pk])).content.decode()
    assert reverse("orders:order-create") + f"?customer={customers['10001'].pk}" in page


def test_queue_twice_enqueues_once(customers, tenant):
    order = make_order(tenant, customers["10001"])
    assert services.queue(order) and not services.queue(order)


def test_quantities_and_prices_are_shown_without_padding_zeros(viewer_client, customers, tenant):
    order = make_order(tenant, customers["10001"])
    SalesOrderLine.objects.filter(order=order).update(quantity=Decimal("2.5000"), unit_price=Decimal("10.1250"))
    page = viewer_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert ">2.5<" in page and ">NOK\xa010.125<" in page and "10.1250" not in page


def test_editing_lines_updates_them_in_place_so_the_audit_trail_shows_real_changes(clerk_client, customers, tenant):
    from core.audit import audit_rows

    order = make_order(tenant, customers["10001"], items=("STOCK-100", "FREIGHT", "SERV-100"))
    first, second, third = order.lines.all()
    data = form_data(customers["10001"], [])
    data.update({"lines-TOTAL_FORMS": 4, "lines-INITIAL_FORMS": 3})
    for index, line in enumerate((first, second, third)):
        data.update(
            {
                f"lines-{index}-id": line.pk,
                f"lines-{index}-order": order.pk,
                f"lines-{index}-inventory_id": line.inventory_id,
                f"lines-{index}-quantity": "1",
                f"lines-{index}-unit_price": "10",
            }
        )
    data["lines-1-DELETE"] = "on"
    data["lines-2-quantity"] = "5"
    data.update({"lines-3-inventory_id": "STOCK-900", "lines-3-quantity": "2"})
    response = clerk_client.post(reverse("orders:order-edit", args=[order.pk]), data)
    assert response.status_code == 302
    lines = list(order.lines.values_list("pk", "position", "inventory_id", "quantity"))
    assert lines == [
        (first.pk, 1, "STOCK-100", Decimal(1)),
        (third.pk, 2, "SERV-100", Decimal(5)),
        (lines[2][0], 3, "STOCK-900", Decimal(2)),
    ]
    rows = audit_rows(order)
    assert (rows[0].action, len(rows[0].children)) == ("1 line added, 1 line changed, 1 line removed", 3)
    actions = [child.action for row in rows for child in row.children]  # the lines saved together: one entry
    assert "delete" in actions and "create" in actions and "update" in actions
    assert actions.count("delete") == 1


def test_stored_decimals_are_shown_without_padding_zeros_in_the_form(clerk_client, customers, tenant):
    order = make_order(tenant, customers["10001"])
    SalesOrderLine.objects.filter(order=order).update(unit_price=Decimal("101.2500"))
    page = clerk_client.get(reverse("orders:order-edit", args=[order.pk])).content.decode()
    assert 'value="101.25"' in page and "101.2500" not in page


def test_removing_every_line_asks_for_one(clerk_client, customers):
    data = form_data(customers["10001"], [{**THREE_LINES[0], "DELETE": "on"}])
    page = clerk_client.post(reverse("orders:order-create"), data).content.decode()
    assert "Add at least one line." in page and "Please submit" not in page


def test_an_order_priced_by_visma_has_no_total_in_the_list(viewer_client, customers, tenant):
    order = make_order(tenant, customers["10001"])
    SalesOrderLine.objects.filter(order=order).update(unit_price=None)
    response = viewer_client.get(reverse("orders:order-list"))
    assert response.context["page"].object_list[0].total is None
    assert 'title="Visma prices every line"' in response.content.decode()


def test_the_audit_trail_shows_who_submitted_and_what_visma_answered(
    clerk_client, order_clerk, customers, sandbox, django_capture_on_commit_callbacks
):
    from core.audit import audit_rows

    with django_capture_on_commit_callbacks(execute=True):
        clerk_client.post(reverse("orders:order-create"), form_data(customers["10001"], THREE_LINES, action="submit"))
    order = SalesOrder.objects.get()
    rows = audit_rows(order)
    changes = [(row.actor, change.field.lower(), change.new) for row in rows for change in row.changes]
    assert (order_clerk.username, "state", "Queued") in changes or (order_clerk.username, "state", "queued") in changes
    assert any(field == "visma number" and new == "SO 000001" for _, field, new in changes), changes
