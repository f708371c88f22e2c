"""Attacks on what issue 17 brought: order refresh, webhooks, the In Visma panel with Refresh now, changes after
submission, delivery locations and the CSV import's new columns. Each role and anonymous, URLs and forms edited by
hand, hostile text from Visma. Every test here failed before its fix, or pins an attack that held."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders import changes
from orders.models import OrderChange
from tenants.models import Customer
from tests.conftest import logged_in
from tests.orders.changing import calls, change_in_visma, in_visma, submitted

pytestmark = pytest.mark.django_db
State = OrderChange.State
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def order(sandbox, tenant):
    """An order Visma has, read once from Visma (its version and status known)."""
    return submitted(tenant)


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """POST and run what was queued after commit (the change's task runs in this process in the tests)."""

    def sending(client, url, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {})

    return sending


def change_url(order, kind) -> str:
    return reverse("orders:order-change", args=[order.pk, kind])


def panel_url(order) -> str:
    return reverse("orders:order-visma", args=[order.pk])


def visma_calls(sandbox) -> int:
    return sum(1 for entry in sandbox.state.request_log() if entry["path"].startswith("/api/"))


# --- the version staff saw: If-Match is never the user's -------------------------------------------------------------
def test_a_change_without_the_version_the_page_carried_is_refused_once_visma_changed(clerk_client, sandbox, order):
    """Hole: leaving `version` out skipped the check that the page was read from the version the portal now has,
    so a hand-made POST (or an old page without it) changed an order over what someone did in Visma meanwhile."""
    change_in_visma(sandbox, order, description="Theirs")
    changes.read_now(order)  # the portal reads Visma's new version (Refresh now, the panel) after the page was shown
    for data in ({"description": "Ours", "note": "", "request_on": ""}, {"confirmed": "yes"}):
        kind = "edit" if "description" in data else "hold"
        response = clerk_client.post(change_url(order, kind), data)
        assert response.status_code in (200, 302)
    assert not OrderChange.objects.exists() and calls(sandbox, "PATCH", order) == 0
    assert in_visma(sandbox, order)["description"] == "Theirs"


def test_the_if_match_sent_is_the_version_the_portal_read_never_the_one_posted(clerk_client, sandbox, order, send):
    forged = ['"0"', "*", '"999"', order.visma_etag + " ", "W/" + order.visma_etag]
    for version in forged:
        send(clerk_client, change_url(order, "hold"), {"confirmed": "yes", "version": version})
    assert not OrderChange.objects.exists() and calls(sandbox, "PATCH", order) == 0
    send(clerk_client, change_url(order, "hold"), {"confirmed": "yes", "version": order.visma_etag})
    change = OrderChange.objects.get()
    assert change.if_match == order.visma_etag and change.state == State.APPLIED


# --- the webhook token -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["viewer", "order_clerk"])
def test_only_integration_admins_see_the_webhook_token(request, tenant, who):
    """Hole: the token is the webhook URL's only secret, yet Viewers and Order clerks saw it on the tenant and
    application pages (and could make the portal refresh at will with it)."""
    client = logged_in(request.getfixturevalue(who))
    token = tenant.application.webhook_token
    for url in (
        reverse("tenants:tenant-detail", args=[tenant.pk]),
        reverse("tenants:application-detail", args=[tenant.application.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200 and token not in response.content.decode()


def test_integration_admins_and_superusers_see_the_webhook_url(tenant, admin_client_, superuser):
    token = tenant.application.webhook_token
    for client in (admin_client_, logged_in(superuser)):
        page = client.get(reverse("tenants:tenant-detail", args=[tenant.pk])).content.decode()
        assert f"/webhooks/visma/{token}/" in page


# --- Refresh now: what it costs Visma's rate limit --------------------------------------------------------------------
def test_refresh_now_is_limited_per_person(clerk_client, admin_client_, sandbox, order, settings):
    """Hole: Refresh now goes past the rate budget's pacing (staff wait for it), and nothing limited how often it
    could be asked: a script of one clerk spent Visma's whole window, the share kept for submitting orders too."""
    settings.VISMA_STAFF_READS_PER_MINUTE = 3
    before = visma_calls(sandbox)
    answers = [clerk_client.post(panel_url(order), HTTP_HX_REQUEST="true") for _ in range(10)]
    assert all(answer.status_code == 200 for answer in answers)
    spent = visma_calls(sandbox) - before
    assert spent <= 3 * 2  # the order and, when Visma changed it, its lines
    last = answers[-1].content.decode()
    assert "data-visma-error" in last and "Refresh now" in last and "minute" in last
    assert admin_client_.post(panel_url(order), HTTP_HX_REQUEST="true").status_code == 200
    assert visma_calls(sandbox) > before + spent  # another person's limit is their own


def test_the_panels_and_cards_polled_by_every_role_never_call_visma(sandbox, order, viewer_client, clerk_client):
    before = visma_calls(sandbox)
    for client in (viewer_client, clerk_client):
        for _ in range(5):
            assert client.get(panel_url(order)).status_code == 200
            assert client.get(reverse("orders:order-changes", args=[order.pk])).status_code == 200
            assert client.get(reverse("orders:order-list-visma"), {"ids": str(order.pk)}).status_code == 200
            assert client.get(reverse("orders:order-detail", args=[order.pk])).status_code == 200
    assert viewer_client.post(panel_url(order)).status_code == 403
    assert visma_calls(sandbox) == before


def test_delivery_locations_are_within_the_same_limit(clerk_client, tenant, sandbox, settings):
    settings.VISMA_STAFF_READS_PER_MINUTE = 2
    numbers = [str(10000 + i) for i in range(5)]
    picked = [Customer.objects.create(tenant=tenant, number=n, name=f"Kunde {n}", status="Active") for n in numbers]
    url = reverse("orders:location-options")
    pages = [clerk_client.get(url, {"tenant": tenant.pk, "customer": c.pk}).content.decode() for c in picked]
    located = [r for r in sandbox.state.request_log() if r["path"].endswith("/locations")]
    assert len(located) == 2 and "MAIN" in pages[0] and "MAIN" not in pages[-1] and "this minute" in pages[-1]
    assert "MAIN" in clerk_client.get(url, {"tenant": tenant.pk, "customer": picked[0].pk}).content.decode()  # cached
