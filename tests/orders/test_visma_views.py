"""What staff see of Visma's view of an order: the list's "Visma status" column, filter and live cells, and the order
page's "In Visma" panel with Refresh now and the line differences."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.middleware import LAST_SEEN
from core.models import Profile
from orders import line_diff
from orders.models import SalesOrder
from tests.conftest import logged_in
from tests.ordering import make_order
from tests.orders.following import change_in_visma, followed_orders

pytestmark = pytest.mark.django_db
State = SalesOrder.State
LIST = "/orders/"


def with_status(order: SalesOrder, status: str, **fields) -> SalesOrder:
    SalesOrder.objects.filter(pk=order.pk).update(visma_status=status, visma_refreshed_at=timezone.now(), **fields)
    order.refresh_from_db()
    return order


def panel_url(order: SalesOrder) -> str:
    return reverse("orders:order-visma", args=[order.pk])


# --- the list ---------------------------------------------------------------------------------------------------------
def test_the_list_shows_visma_status_in_words_and_filters_by_it(sandbox, tenant, viewer_client):
    held, _, shipping = (
        with_status(o, s)
        for o, s in zip(followed_orders(sandbox, tenant, 3), ["Hold", "BackOrder", "Shipping"], strict=True)
    )
    draft = make_order(tenant)
    page = viewer_client.get(LIST).content.decode()
    assert '<th scope="col">Visma status</th>' in page
    assert (
        f'id="order-visma-status-{held.pk}"><span class="badge text-bg-warning" data-visma-status="Hold">On hold'
        in page
    )
    assert 'data-visma-status="BackOrder">Back order</span>' in page
    assert f'id="order-visma-status-{draft.pk}"><span class="text-body-secondary">—</span>' in page
    assert '<option value="BackOrder">Back order</option>' in page

    filtered = viewer_client.get(LIST, {"visma_status": "Hold"})
    assert [o.pk for o in filtered.context["page"].object_list] == [held.pk]
    assert '<option value="Hold" selected>On hold</option>' in filtered.content.decode()
    assert filtered.context["filtered"] and filtered.context["total_count"] == 1
    for hostile in ("hold", "Hold' OR 1=1", "x" * 500):
        response = viewer_client.get(LIST, {"visma_status": hostile})
        assert response.status_code == 200 and len(response.context["page"].object_list) == 4
    assert shipping.visma_status == "Shipping"


def test_the_list_keeps_its_query_count_with_the_visma_status_column_and_filter(
    sandbox, tenant, viewer_client, superuser, client, django_assert_max_num_queries
):
    for index, order in enumerate(followed_orders(sandbox, tenant, 60)):
        with_status(order, ["Open", "Hold", "Completed"][index % 3])
    client.force_login(superuser)
    for params in ({}, {"visma_status": "Hold"}, {"visma_status": "Open", "page": 2}, {"visma_status": "Completed"}):
        with django_assert_max_num_queries(6):  # session, user, roles, tenants, state counts, the page
            assert client.get(LIST, params).status_code == 200
        with django_assert_max_num_queries(8):  # a role's permissions: two more
            assert viewer_client.get(LIST, params).status_code == 200


def test_the_list_keeps_followed_orders_fresh_and_stops_when_none_is_shown(sandbox, tenant, viewer_client, settings):
    followed = followed_orders(sandbox, tenant, 2)
    closed = with_status(followed[1], "Completed", visma_closed_at=timezone.now() - timedelta(days=60))
    draft = make_order(tenant)
    page = viewer_client.get(LIST).content.decode()
    poller = re.search(r'<div id="visma-poller"[^>]*>', page).group(0)
    assert f'hx-get="/orders/visma-states/?ids={followed[0].pk}"' in poller and 'data-polling="on"' in poller
    assert 'hx-get="/orders/states/' not in page  # nothing in flight: the state poller stays off

    with_status(followed[0], "Hold")
    cells = viewer_client.get("/orders/visma-states/", {"ids": f"{followed[0].pk},{draft.pk},junk"}).content.decode()
    assert f'id="order-visma-status-{followed[0].pk}" hx-swap-oob="true"><span class="badge' in cells
    assert ">On hold</span>" in cells and f'?ids={followed[0].pk}"' in cells
    settled = viewer_client.get("/orders/visma-states/", {"ids": str(closed.pk)}).content.decode()
    assert 'data-polling="off"' in settled and "hx-trigger" not in settled
    assert 'data-polling="off"' in viewer_client.get(LIST, {"state": "draft"}).content.decode()


# --- the order page ---------------------------------------------------------------------------------------------------
def test_the_panel_shows_visma_s_status_totals_dates_in_the_user_s_time_zone(sandbox, tenant, viewer):
    Profile.objects.create(user=viewer, time_zone="America/New_York")
    order = followed_orders(sandbox, tenant, 1)[0]
    with_status(
        order,
        "Hold",
        visma_order_total=Decimal("1777.5"),
        visma_tax_total=Decimal("355.5"),
        visma_currency="EUR",
        visma_shipping_date=datetime(2026, 12, 24).date(),
        visma_last_modified=datetime(2026, 11, 30, 15, 4, 5, tzinfo=UTC),
    )
    page = logged_in(viewer).get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert page.count('id="visma-panel"') == 1
    panel = page[page.index('id="visma-panel"') :]
    assert ">On hold</span>" in panel and "Visma holds it until someone releases it." in panel
    assert "EUR\xa01,777.50" in panel and "EUR\xa0355.50" in panel
    assert "24/12/2026" in panel  # the site's date format
    assert "10:04:05" in panel  # 15:04:05 UTC in New York
    assert "Refresh now" not in panel  # a viewer may not refresh
    assert f'hx-get="{panel_url(order)}" hx-trigger="every 30s"' in panel


def test_a_draft_has_no_panel_and_an_unread_order_says_when_it_will_be(sandbox, tenant, clerk_client):
    assert (
        'id="visma-panel"'
        not in clerk_client.get(reverse("orders:order-detail", args=[make_order(tenant).pk])).content.decode()
    )
    order = followed_orders(sandbox, tenant, 1)[0]
    page = clerk_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert "Not read from Visma yet: the portal reads its status within 5 minutes, or now with Refresh now." in page
    assert "data-refresh-now" in page


def test_refresh_now_swaps_the_panel_with_what_visma_says(sandbox, tenant, clerk_client, admin_client_):
    order = followed_orders(sandbox, tenant, 1)[0]
    change_in_visma(sandbox, order, status="Hold")
    response = clerk_client.post(panel_url(order), HTTP_HX_REQUEST="true")
    panel = response.content.decode()
    assert response.status_code == 200 and panel.lstrip().startswith('<div id="visma-panel"')
    assert ">On hold</span>" in panel and "just now" in panel
    order.refresh_from_db()
    assert order.visma_status == "Hold" and order.visma_etag
    change_in_visma(sandbox, order, status="Open")
    response = admin_client_.post(panel_url(order))  # without htmx: back to the page, with a message
    assert response.status_code == 302 and response["Location"] == reverse("orders:order-detail", args=[order.pk])
    order.refresh_from_db()
    assert order.visma_status == "Open"


def test_visma_s_error_is_shown_in_the_panel_never_a_500(sandbox, tenant, clerk_client):
    order = with_status(followed_orders(sandbox, tenant, 1)[0], "Open")
    sandbox.state.set_faults([{"method": "GET", "path": "/api/v3/SalesOrders/", "kind": "500"}])
    response = clerk_client.post(panel_url(order), HTTP_HX_REQUEST="true")
    panel = response.content.decode()
    assert response.status_code == 200 and "data-visma-error" in panel and "Visma answered HTTP 500" in panel
    assert "Below is what the portal read last, " in panel and ">Open</span>" in panel
    followed = clerk_client.post(panel_url(order), follow=True).content.decode()
    assert "could not be read from Visma" in followed


def test_who_may_refresh(sandbox, tenant, viewer_client, client):
    order = followed_orders(sandbox, tenant, 1)[0]
    assert viewer_client.post(panel_url(order), HTTP_HX_REQUEST="true").status_code == 403
    assert viewer_client.get(panel_url(order)).status_code == 200  # the panel itself, polled
    assert client.post(panel_url(order))["Location"].startswith("/login/")
    assert client.get(panel_url(order))["Location"].startswith("/login/")
    assert sandbox.state.request_log() == []


def test_the_lines_visma_changed_are_shown_against_what_was_sent(sandbox, tenant, clerk_client):
    order = followed_orders(sandbox, tenant, 1)[0]
    change_in_visma(sandbox, order, lines=[{"lineId": 1, "quantity": 5}, {"inventoryId": "STOCK-200", "quantity": 1}])
    panel = clerk_client.post(panel_url(order), HTTP_HX_REQUEST="true").content.decode()
    assert "Visma's lines differ from what was sent" in panel
    changed = re.search(r'<tr data-difference="changed">.*?</tr>', panel, re.S).group(0)
    assert "Changed: quantity" in changed and "STOCK-100" in changed and "2 \u00d7" in changed and "5 \u00d7" in changed
    assert '<tr data-difference="added">' in panel and "STOCK-200" in panel

    change_in_visma(sandbox, order, delete_lines=[1, 2])
    panel = clerk_client.post(panel_url(order), HTTP_HX_REQUEST="true").content.decode()
    assert '<tr data-difference="removed">' in panel and 'data-difference="added"' not in panel


def test_no_difference_when_visma_has_what_was_sent(sandbox, tenant, clerk_client):
    order = followed_orders(sandbox, tenant, 1)[0]
    panel = clerk_client.post(panel_url(order), HTTP_HX_REQUEST="true").content.decode()
    assert "differ" not in panel


def test_line_pairs_by_position_then_item_and_ignores_what_visma_fills_in():
    sent = [
        line_diff.Line("A", Decimal(1), None, ""),
        line_diff.Line("B", Decimal(2), Decimal("9.5"), "Bolts"),
        line_diff.Line("C", Decimal(3), None, ""),
    ]
    visma = [
        line_diff.Line("B", Decimal("2.0000"), Decimal("9.50"), "Bolts"),
        line_diff.Line("A", Decimal(1), Decimal(7), "Visma's own words"),
        line_diff.Line("D", Decimal(1), Decimal(1), ""),
    ]
    found = [(d.kind, d.item, d.changed) for d in line_diff.compare(sent, visma)]
    assert found == [("removed", "C", []), ("added", "D", [])]
    visma[0].unit_price = Decimal(10)
    visma[0].description = "Screws"
    assert next((d.kind, d.changed) for d in line_diff.compare(sent, visma)) == (
        "changed",
        ["unit price", "description"],
    )


def test_the_panel_and_list_polling_do_not_keep_a_session_alive_but_refresh_now_does(
    sandbox, tenant, order_clerk, settings
):
    order = followed_orders(sandbox, tenant, 1)[0]
    client = logged_in(order_clerk)
    client.get(LIST)

    def idle_for_nearly_an_hour() -> int:
        session = client.session
        session[LAST_SEEN] -= settings.SESSION_IDLE_MINUTES * 60 - 120
        session.save()
        return session[LAST_SEEN]

    seen = idle_for_nearly_an_hour()
    client.get(panel_url(order))
    client.get(reverse("orders:order-list-visma"), {"ids": str(order.pk)})
    assert client.session[LAST_SEEN] == seen
    client.post(panel_url(order), HTTP_HX_REQUEST="true")
    assert client.session[LAST_SEEN] > seen
