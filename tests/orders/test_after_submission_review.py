"""What a new user read wrong on the pages that follow an order after submission, each as it reads now: the header's
status is the one the order was sent with (Visma's is the In Visma panel's), nothing empty is a bare "—" where words
say why, a conflict says what each button does, and only what the user may do is offered."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from orders import visma_status
from orders.models import OrderChange, SalesOrder
from tenants.models import Customer
from tests.ordering import make_order
from tests.orders.changing import change_in_visma, submitted
from tests.orders.following import followed_orders

pytestmark = pytest.mark.django_db


def page(client, order) -> str:
    response = client.get(reverse("orders:order-detail", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


def dd_after(html: str, term: str) -> str:
    return re.search(rf"<dt[^>]*>{re.escape(term)}</dt><dd[^>]*>(.*?)</dd>", html, re.S).group(1)


def changes_card(html: str) -> str:
    return html[html.index('id="order-changes"') :]


@pytest.fixture
def order(sandbox, tenant):
    return submitted(tenant)


def test_the_header_says_the_status_the_order_was_sent_with_not_visma_s(clerk_client, sandbox, tenant, order):
    change_in_visma(sandbox, order, status="Hold")
    clerk_client.post(reverse("orders:order-visma", args=[order.pk]))
    html = page(clerk_client, order)
    assert "On hold" in html[html.index('id="visma-panel"') :]
    assert dd_after(html, "Status when sent") == "Open" and "Status in Visma" not in html  # nor in the audit trail

    draft = make_order(tenant)
    SalesOrder.objects.filter(pk=draft.pk).update(status="Hold")
    assert dd_after(page(clerk_client, draft), "Status when sent") == "On hold"  # in words, as Visma's


def test_the_list_says_an_order_in_visma_is_not_read_yet(sandbox, tenant, viewer_client):
    unread = followed_orders(sandbox, tenant, 1)[0]
    draft = make_order(tenant)
    html = viewer_client.get("/orders/").content.decode()
    assert f'id="order-visma-status-{unread.pk}"><span class="small text-body-secondary">not read yet</span>' in html
    assert f'id="order-visma-status-{draft.pk}"><span class="text-body-secondary">—</span>' in html


def test_the_panel_says_what_visma_did_not_give(clerk_client, order):
    SalesOrder.objects.filter(pk=order.pk).update(
        visma_order_total=None, visma_tax_total=None, visma_shipping_date=None, visma_last_modified=None
    )
    panel = page(clerk_client, order).split('id="visma-panel"')[1].split("</dl>")[0]
    assert "—" not in panel
    assert panel.count("Not given by Visma") == 3 and "Not scheduled yet" in panel
    assert "Last read from Visma" in panel and "Read by the portal" not in panel


def test_refresh_now_tells_the_page_s_status_region_how_it_went(clerk_client, sandbox, order):
    html = page(clerk_client, order)
    assert '<div id="visma-panel-news" class="visually-hidden" role="status"></div>' in html
    assert 'id="visma-refresh-now"' in html  # htmx gives the focus back to the button by its id after the swap
    assert "aria-live" not in html.split('id="visma-panel"')[1].split(">")[0]  # the panel is replaced, not updated

    url = reverse("orders:order-visma", args=[order.pk])
    read = clerk_client.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert '<div id="visma-panel-news" hx-swap-oob="innerHTML">Read from Visma just now: open.</div>' in read
    assert "visma-panel-news" not in clerk_client.get(url).content.decode()  # the poll announces nothing

    sandbox.state.set_faults([{"method": "GET", "path": "/api/v3/SalesOrders/", "kind": "503"}])
    failed = clerk_client.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert '<div id="visma-panel-news" hx-swap-oob="innerHTML">Visma could not be read: Visma answered HTTP 503' in (
        failed
    )
    assert "Below is what the portal read last, " in failed and 'role="alert"' not in failed


def test_a_viewer_is_not_told_to_press_refresh_now(viewer_client, clerk_client, order):
    SalesOrder.objects.filter(pk=order.pk).update(visma_status="", visma_etag="")
    viewer_card = changes_card(page(viewer_client, order))
    assert "data-change-unknown" in viewer_card and "The portal reads it within 5 minutes." in viewer_card
    assert "Refresh now" not in viewer_card
    assert "Read it from Visma first (Refresh now)." in changes_card(page(clerk_client, order))


def test_the_card_says_how_to_change_visma_s_lines_before_they_were_read(clerk_client, order):
    assert "data-change-lines-unread" not in page(clerk_client, order)  # read with the order: the form is there
    SalesOrder.objects.filter(pk=order.pk).update(visma_lines=None)
    card = changes_card(page(clerk_client, order))
    assert "To change Visma's lines, read them from Visma first (Refresh now)." in card
    assert 'data-change-form="change_lines"' not in card


def test_a_conflict_says_what_was_left_alone_and_what_each_button_does(
    clerk_client, sandbox, order, django_capture_on_commit_callbacks
):
    change_in_visma(sandbox, order, description="Theirs")
    data = {"version": order.visma_etag, "description": "Ours", "note": "", "request_on": str(order.request_on or "")}
    with django_capture_on_commit_callbacks(execute=True):
        clerk_client.post(reverse("orders:order-change", args=[order.pk, "edit"]), data)
    assert OrderChange.objects.get().state == OrderChange.State.CONFLICT
    card = changes_card(page(clerk_client, order))
    assert '<th scope="row">Status</th><td>(no change)</td><td>Open</td>' in card
    assert "after the portal last read it" in card and "after this page was read" not in card
    decide = re.search(r"<p class=\"mb-2\" data-change-decide>(.*?)</p>", card).group(1)
    assert decide == (
        "“Try again” makes your change on the order as Visma has it now (“Visma has now”); "
        "“Drop it” leaves Visma's order as it is."
    )


def test_the_delivery_block_says_the_currency_the_order_was_sent_in(clerk_client, tenant, order):
    Customer.objects.filter(pk=order.customer_id).update(currency="SEK")
    assert "the order was sent in it" in page(clerk_client, order)
    assert "the order is sent in it" in page(clerk_client, make_order(tenant))


def test_every_visma_status_badge_has_a_visible_tone():
    """Bootstrap's light badge is white-on-white on a card: the Open badge looked like plain text."""
    tones = {status: visma_status.tone(status) for status in visma_status.KNOWN}
    assert not [status for status, tone in tones.items() if "text-bg-light" in tone], tones


def test_a_change_visma_s_status_does_not_allow_is_refused_in_words(clerk_client, order):
    SalesOrder.objects.filter(pk=order.pk).update(visma_status="CreditHold")
    data = {"confirmed": "yes", "version": order.visma_etag}
    response = clerk_client.post(reverse("orders:order-change", args=[order.pk, "hold"]), data, follow=True)
    html = response.content.decode()
    assert "Visma has the order as credit hold. The portal changes an order only while Visma has it open" in html
    assert "as CreditHold" not in html and not OrderChange.objects.exists()
