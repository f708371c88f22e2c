"""The orders list: sorting with aria-sort, hostile sort and filter values, clear filters, the date range, empty-state
wording, Visma-number search, bulk confirmation and per-order report, live states, and its query count."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import SalesOrder, SalesOrderLine

pytestmark = pytest.mark.django_db
State = SalesOrder.State
URL = "/orders/"


def order(tenant, customer, *, state=State.DRAFT, price="10", on=date(2026, 11, 20), **fields) -> SalesOrder:
    made = SalesOrder.objects.create(tenant=tenant, customer=customer, state=state, date=on, **fields)
    SalesOrderLine.objects.create(
        order=made, position=1, inventory_id="STOCK-100", quantity=Decimal(1), unit_price=Decimal(price)
    )
    return made


def references(response) -> list[str]:
    return [o.reference for o in response.context["page"].object_list]


def header(html: str, key: str) -> str:
    return re.search(rf'<th scope="col"[^>]*><a [^>]*data-sort="{key}".*?</th>', html, re.S).group(0)


def test_url_is_the_orders_list():
    assert reverse("orders:order-list") == URL


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("total", ["cheap", "middle", "dear"]),
        ("-total", ["dear", "middle", "cheap"]),
        ("customer", ["dear", "cheap", "middle"]),
        ("visma", ["middle", "dear", "cheap"]),
        ("-date", ["cheap", "dear", "middle"]),
        ("state", ["middle", "cheap", "dear"]),
    ],
)
def test_every_sortable_column_sorts_both_ways(viewer_client, customers, tenant, sort, expected):
    made = {
        "cheap": order(
            tenant, customers["10005"], price="5", on=date(2026, 11, 22), visma_number="000009", state=State.FAILED
        ),
        "middle": order(
            tenant, customers["10006"], price="50", on=date(2026, 11, 20), visma_number="000001", state=State.DRAFT
        ),
        "dear": order(
            tenant, customers["10001"], price="500", on=date(2026, 11, 21), visma_number="000002", state=State.SUBMITTED
        ),
    }
    names = {o.reference: name for name, o in made.items()}
    response = viewer_client.get(URL, {"sort": sort})
    assert [names[r] for r in references(response)] == expected


def test_the_sorted_column_says_so_with_an_arrow_and_aria_sort_and_its_link_reverses_it(
    viewer_client, customers, tenant
):
    order(tenant, customers["10001"])
    page = viewer_client.get(URL, {"sort": "total", "state": "draft"}).content.decode()
    total = header(page, "total")
    assert 'aria-sort="ascending"' in total and "▲" in total and "sort=-total" in total and "state=draft" in total
    assert "aria-sort" not in header(page, "reference")
    descending = header(viewer_client.get(URL, {"sort": "-total"}).content.decode(), "total")
    assert 'aria-sort="descending"' in descending and "▼" in descending
    default = viewer_client.get(URL).content.decode()
    assert 'aria-sort="descending"' in header(default, "date")


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "password"},
        {"sort": "--total"},
        {"sort": "customer__tenant__application__client_secret"},
        {"sort": "x" * 5000},
        {"state": "'; DROP TABLE orders_salesorder; --"},
        {"tenant": "1 OR 1=1"},
        {"customer": "9" * 40},
        {"page": "-1"},
        {"page": "9" * 30},
        {"from": "2026-02-30"},
        {"to": "99999-01-01"},
        {"q": "\x00%_\\"},
        {"ids": "1,2"},
    ],
)
def test_hostile_sort_and_filter_values_get_the_default_never_an_error(viewer_client, customers, tenant, params):
    order(tenant, customers["10001"])
    response = viewer_client.get(URL, params)
    assert response.status_code == 200
    assert response.context["sort"].value == "-date" or "sort" not in params


def test_filters_and_sort_survive_paging(viewer_client, customers, tenant):
    for index in range(55):
        order(tenant, customers["10002"], price=str(index + 1))
    page = viewer_client.get(URL, {"sort": "-total", "tenant": tenant.pk, "q": "VOP"}).content.decode()
    next_link = re.search(r'href="\?([^"]*page=2)"', page).group(1).replace("&amp;", "&")
    assert "sort=-total" in next_link and f"tenant={tenant.pk}" in next_link and "q=VOP" in next_link
    second = viewer_client.get(URL + "?" + next_link)
    totals = [o.total for o in second.context["page"].object_list]
    assert totals == [Decimal(5), Decimal(4), Decimal(3), Decimal(2), Decimal(1)]


def test_clear_filters_appears_when_filtered_and_keeps_the_sort(viewer_client, customers, tenant):
    order(tenant, customers["10001"])
    assert "data-clear-filters" not in viewer_client.get(URL).content.decode()
    page = viewer_client.get(URL, {"q": "nothing-like-this", "sort": "total"}).content.decode()
    assert re.search(r'<a class="small" href="/orders/\?sort=total" data-clear-filters>Clear filters</a>', page)
    assert 'No orders match these filters — <a href="/orders/?sort=total">clear them</a>' in page
    assert "Build one" not in page


def test_an_empty_list_without_filters_offers_to_build_one(clerk_client, tenant):
    page = clerk_client.get(URL).content.decode()
    assert "No orders yet." in page and "Build one" in page and "match these filters" not in page


def test_a_from_date_after_the_to_date_is_an_error_next_to_the_field_and_loses_nothing(
    viewer_client, customers, tenant
):
    order(tenant, customers["10001"], on=date(2026, 11, 20))
    response = viewer_client.get(URL, {"from": "2026-12-01", "to": "2026-11-01"})
    page = response.content.decode()
    assert response.status_code == 200 and len(response.context["page"].object_list) == 1
    assert re.search(
        r'id="from" name="from" value="2026-12-01" aria-invalid="true" aria-describedby="from-error"', page
    )
    assert 'id="from-error">Order date from (2026-12-01) is after the to-date (2026-11-01)' in page
    assert 'value="2026-11-01"' in page and "data-clear-filters" in page


def test_a_date_range_filters_by_order_date(viewer_client, customers, tenant):
    inside = order(tenant, customers["10001"], on=date(2026, 11, 20))
    order(tenant, customers["10001"], on=date(2026, 10, 1))
    response = viewer_client.get(URL, {"from": "2026-11-01", "to": "2026-11-30"})
    assert references(response) == [inside.reference]


@pytest.mark.parametrize("typed", ["SO 000001", "SO000001", "000001", "so 000001", "SO\u00a0000001", "00000"])
def test_a_visma_number_is_found_as_it_is_shown(viewer_client, customers, tenant, typed):
    wanted = order(tenant, customers["10001"], state=State.SUBMITTED, visma_type="SO", visma_number="000001")
    order(tenant, customers["10002"], state=State.SUBMITTED, visma_type="SO", visma_number="100001")
    assert references(viewer_client.get(URL, {"q": typed})) == [wanted.reference]


def test_search_by_reference_customer_order_and_customer_from_their_start(viewer_client, customers, tenant):
    wanted = order(tenant, customers["10003"], customer_order="PO-0999-A")
    order(tenant, customers["10004"], customer_order="XPO-0999")
    assert references(viewer_client.get(URL, {"q": "PO-0999"})) == [wanted.reference]
    assert references(viewer_client.get(URL, {"q": "po-0999"})) == [wanted.reference]
    assert references(viewer_client.get(URL, {"q": wanted.reference[:12]})) != []
    assert references(viewer_client.get(URL, {"q": "Kunde 3"})) == [wanted.reference]
    assert references(viewer_client.get(URL, {"q": "10003"})) == [wanted.reference]


def test_long_visma_errors_are_shortened_with_the_full_text_in_the_title(viewer_client, customers, tenant):
    text = "Line 1, Item — InventoryId cannot be found or is invalid " * 10
    order(tenant, customers["10001"], state=State.FAILED, last_error=text)
    page = viewer_client.get(URL).content.decode()
    assert f'title="{text}"' in page and f">{text[:89]}…</div>" in page


def test_the_list_keeps_a_fixed_number_of_queries_for_any_page_sort_and_filter(
    viewer_client, superuser, client, customers, tenant, django_assert_max_num_queries
):
    for index in range(120):
        order(tenant, customers[str(10000 + index % 8)], state=State.FAILED if index % 3 else State.QUEUED)
    client.force_login(superuser)
    variants = [
        {},
        {"page": 3},
        {"sort": "customer", "page": 2},
        {"state": "failed", "tenant": tenant.pk},
        {"q": "SO 0001"},
        {"from": "2026-11-01", "to": "2026-11-30", "sort": "-total"},
    ]
    for params in variants:
        with django_assert_max_num_queries(6):  # session, user, roles, tenants, state counts, the page
            assert client.get(URL, params).status_code == 200
        with django_assert_max_num_queries(8):  # a role's permissions: two more
            assert viewer_client.get(URL, params).status_code == 200


def test_live_states_poll_only_while_something_moves(viewer_client, customers, tenant):
    queued = order(tenant, customers["10001"], state=State.QUEUED)
    draft = order(tenant, customers["10002"])
    page = viewer_client.get(URL).content.decode()
    assert f'hx-get="/orders/states/?ids={queued.pk}" hx-trigger="every 2s"' in page
    assert f'id="order-state-{draft.pk}"' in page

    moving = viewer_client.get("/orders/states/", {"ids": f"{queued.pk},abc,{draft.pk}"}).content.decode()
    assert f'hx-get="/orders/states/?ids={queued.pk}"' in moving
    assert f'id="order-state-{queued.pk}" hx-swap-oob="true" data-state="queued"' in moving

    SalesOrder.objects.filter(pk=queued.pk).update(state=State.SUBMITTED, visma_type="SO", visma_number="000042")
    settled = viewer_client.get("/orders/states/", {"ids": str(queued.pk)}).content.decode()
    assert 'data-polling="off"' in settled and "hx-trigger" not in settled
    assert (
        'data-state="submitted"' in settled and f'id="order-visma-{queued.pk}" hx-swap-oob="true">SO 000042' in settled
    )
    assert 'data-polling="off"' in viewer_client.get(URL, {"state": "draft"}).content.decode()


def test_live_states_need_the_view_permission(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="pw-123456789"))
    assert client.get("/orders/states/", {"ids": "1"}).status_code == 403


def confirm_then_apply(client, action, orders, **extra):
    data = {"action": action, "orders": [o.pk for o in orders], "next": "?state=failed", **extra}
    asked = client.post(reverse("orders:order-bulk"), data)
    asked.states_after = sorted(SalesOrder.objects.filter(pk__in=data["orders"]).values_list("state", flat=True))
    applied = client.post(reverse("orders:order-bulk"), {**data, "confirmed": "yes"}, follow=True)
    return asked, applied


def test_bulk_actions_ask_first_then_report_each_order_in_the_colour_that_fits(
    clerk_client, customers, tenant, sandbox, django_capture_on_commit_callbacks
):
    draft = order(tenant, customers["10001"])
    failed = order(tenant, customers["10002"], state=State.FAILED)
    submitted = order(tenant, customers["10003"], state=State.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        asked, applied = confirm_then_apply(clerk_client, "submit", [draft, failed, submitted])

    question = asked.content.decode()
    assert asked.status_code == 200 and asked.states_after == ["draft", "failed", "submitted"]  # nothing done yet
    assert "Submit 2 of 3 selected orders?" in question and "Yes, submit 2 orders" in question
    assert (
        f"{submitted.reference}</td>" in question and "It is submitted; only drafts and failed orders go." in question
    )

    report = applied.content.decode()
    assert applied.redirect_chain[-1][0] == "/orders/?state=failed"
    assert 'class="alert alert-warning"' in report and "2 orders queued for submission, 1 skipped." in report
    skipped = re.search(r'<li data-outcome="skipped">.*?</li>', report, re.S).group(0)
    assert "text-bg-warning" in skipped and submitted.reference in skipped and "only drafts and failed" in skipped
    assert report.count('<li data-outcome="done"><span class="badge text-bg-success">') == 2
    assert len(sandbox.state.orders()) == 2
    assert "bulk-report" not in clerk_client.get(URL).content.decode()  # reported once


def test_bulk_all_done_is_green_and_none_done_is_red(clerk_client, customers, tenant):
    queued = order(tenant, customers["10004"], state=State.QUEUED)
    _, applied = confirm_then_apply(clerk_client, "cancel", [queued])
    assert 'class="alert alert-success"' in applied.content.decode()
    assert SalesOrder.objects.get(pk=queued.pk).state == State.CANCELLED

    draft = order(tenant, customers["10001"])
    asked, applied = confirm_then_apply(clerk_client, "retry", [draft])
    assert "Yes, retry" not in asked.content.decode() and "Nothing to do: go back" in asked.content.decode()
    page = applied.content.decode()
    assert 'class="alert alert-danger"' in page and "0 orders queued again, 1 skipped." in page
    assert "only failed orders are retried" in page and SalesOrder.objects.get(pk=draft.pk).state == State.DRAFT


def test_bulk_names_a_tenant_that_cannot_take_orders(clerk_client, customers, tenant):
    failed = order(tenant, customers["10002"], state=State.FAILED)
    tenant.can_write = False
    tenant.save()
    _, applied = confirm_then_apply(clerk_client, "retry", [failed])
    assert "has not approved the write scope" in applied.content.decode()
    assert SalesOrder.objects.get(pk=failed.pk).state == State.FAILED


def test_bulk_refuses_bad_input_and_viewers(clerk_client, viewer_client, customers, tenant):
    response = clerk_client.post(
        reverse("orders:order-bulk"), {"action": "explode", "orders": ["x", "1" * 40], "confirmed": "yes"}, follow=True
    )
    assert "Nothing was done" in response.content.decode()
    gone = clerk_client.post(reverse("orders:order-bulk"), {"action": "cancel", "orders": ["987654"]}, follow=True)
    assert "no longer exist" in gone.content.decode()
    evil_next = clerk_client.post(
        reverse("orders:order-bulk"), {"action": "cancel", "orders": ["1"], "next": "https://evil.example/"}
    )
    assert evil_next.url == URL
    queued = order(tenant, customers["10004"], state=State.QUEUED)
    assert (
        viewer_client.post(reverse("orders:order-bulk"), {"action": "cancel", "orders": [queued.pk]}).status_code == 403
    )


def test_lines_total_is_kept_by_every_line_change(customers, tenant):
    made = order(tenant, customers["10001"], price="10")
    line = SalesOrderLine.objects.create(
        order=made, position=2, inventory_id="X", quantity=Decimal("1.5"), unit_price=Decimal(2)
    )
    assert SalesOrder.objects.get(pk=made.pk).lines_total == Decimal(13)
    line.delete()
    assert SalesOrder.objects.get(pk=made.pk).lines_total == Decimal(10)
    SalesOrderLine.objects.filter(order=made).update(unit_price=None)
    SalesOrderLine.objects.get(order=made).save()
    assert SalesOrder.objects.get(pk=made.pk).lines_total is None
