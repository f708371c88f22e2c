"""Status text that is true: one connection state everywhere, the rate limit's "no calls yet" only without calls, the
onboarding checklist per tenant, a Visma explanation once per page and never cut mid-word, plain wording."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.templatetags.status_text import ago, lasting, reason, visma_words
from orders import services as order_services
from orders.models import SalesOrder
from sandbox.seed import TENANT_NOT_APPROVED
from tenants import services
from tenants.connection_state import connection_state
from tenants.models import ApiCall, Tenant
from tests.ordering import make_order

pytestmark = pytest.mark.django_db

INVALID_TENANT_HINT = "has not approved the application in the Visma App Store"


def visible_text(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).replace("\xa0", " ")


@pytest.fixture
def unapproved(tenant):
    other = Tenant.objects.create(application=tenant.application, tenant_id=TENANT_NOT_APPROVED, name="Vidde Oy")
    services.check_connection(other)
    other.refresh_from_db()
    return other


def test_a_tenant_whose_tokens_work_is_connected_before_anyone_tests_it(viewer_client, sandbox, tenant):
    from tenants.visma import VismaClient

    VismaClient(tenant).token()
    tenant.refresh_from_db()
    assert tenant.last_check_ok is None
    state = connection_state(tenant)
    assert (state.badge, state.failing) == ("Connected", False)
    assert state.note == "token granted just now"
    dashboard = visible_text(viewer_client.get(reverse("dashboard")))
    assert "Not tested" not in dashboard and "never checked" not in dashboard
    assert "Not tested" not in visible_text(viewer_client.get(reverse("tenants:tenant-list")))


def test_a_tenant_never_used_is_not_tested(tenant):
    assert (connection_state(tenant).badge, connection_state(tenant).note) == ("Not tested", "never checked")


def test_failing_tokens_make_the_tenant_failing_even_after_a_passed_test(tenant):
    Tenant.objects.filter(pk=tenant.pk).update(
        last_check_ok=True, last_check_at=timezone.now(), token_failures=2, last_token_error="Visma said no."
    )
    tenant.refresh_from_db()
    state = connection_state(tenant)
    assert state.failing and state.reason == "Visma said no." and state.note == "2 token requests failed in a row"


def test_no_calls_yet_only_when_there_were_none(viewer_client, tenant):
    assert "no calls yet" in visible_text(viewer_client.get(reverse("dashboard")))
    ApiCall.objects.create(tenant=tenant, method="GET", path="/api/v3/Customers", status=200, outcome="ok")
    text = visible_text(viewer_client.get(reverse("dashboard")))
    assert "no calls yet" not in text and "not reported by Visma yet" in text


def test_the_application_ticks_a_tenants_step_only_when_every_tenant_did_it(tenant, unapproved, sandbox):
    services.check_connection(tenant)
    application = tenant.application
    steps = {item.title.split(" (")[0]: item for item in services.onboarding_checklist(application)}
    approved = steps["Customer approved the application in the Visma App Store"]
    assert not approved.done
    assert "(1 of 2 tenants)" in [i.title for i in services.onboarding_checklist(application)][4]
    assert approved.next_step.startswith("Still to do for Vidde Oy.")
    assert not steps["Connection verified"].done
    tenant.refresh_from_db()
    per_tenant = {item.title: item.done for item in services.onboarding_checklist(application, tenant)}
    assert per_tenant["Customer approved the application in the Visma App Store"]
    assert per_tenant["Connection verified"]
    unapproved_steps = {item.title: item.done for item in services.onboarding_checklist(application, unapproved)}
    assert not unapproved_steps["Customer approved the application in the Visma App Store"]


def test_the_invalid_tenant_explanation_appears_once_per_page(admin_client_, unapproved):
    page = visible_text(admin_client_.get(reverse("tenants:tenant-detail", args=[unapproved.pk])))
    assert page.count(INVALID_TENANT_HINT) == 1
    report = admin_client_.post(reverse("tenants:tenant-check", args=[unapproved.pk]), HTTP_HX_REQUEST="true")
    assert visible_text(report).count(INVALID_TENANT_HINT) == 1  # the result; Last check and failures point to it
    assert 'id="last-check" hx-swap-oob="true"' in report.content.decode()
    assert visible_text(admin_client_.get(reverse("dashboard"))).count("invalid_tenant") <= 1


def test_explanations_are_shortened_after_a_whole_word(admin_client_, unapproved):
    for url in (reverse("dashboard"), reverse("tenants:tenant-list")):
        shown = unescape(re.search(r"data-reason>([^<]*)<", admin_client_.get(url).content.decode()).group(1))
        assert shown.endswith("…")
        words = shown.rstrip("…").split()
        assert all(word in unapproved.last_token_error.split() for word in words), shown
    assert reason("one two three", 2) == "one two …"


def test_times_read_as_words():
    now = timezone.now()
    assert ago(now - timedelta(seconds=20)) == "just now"
    assert ago(now - timedelta(minutes=4, seconds=5)).replace("\xa0", " ") == "4 minutes ago"
    assert lasting(now - timedelta(minutes=4, seconds=5)).replace("\xa0", " ") == "for 4 minutes"
    assert lasting(now) == "just now"


def test_an_open_incident_says_for_how_long(viewer_client, unapproved):
    from tenants.models import Incident

    Incident.objects.filter(tenant=unapproved).update(opened_at=timezone.now() - timedelta(minutes=4, seconds=3))
    text = visible_text(viewer_client.get(reverse("dashboard")))
    assert "Token requests for Vidde Oy are failing for 4 minutes" in text
    assert "since" not in text.split("Needs someone")[1].split("Tenants")[0]


def test_vismas_status_codes_read_as_words(viewer_client, tenant):
    assert [visma_words(code) for code in ("OnHold", "CreditHold", "Active")] == ["On hold", "Credit hold", "Active"]
    order = make_order(tenant)
    order.customer.status = "CreditHold"
    order.customer.save()
    assert "Credit hold" in visible_text(
        viewer_client.get(reverse("tenants:customer-detail", args=[order.customer.pk]))
    )
    assert "CreditHold" not in visible_text(viewer_client.get(reverse("orders:order-detail", args=[order.pk])))


def test_submitted_by_only_once_submitted(clerk_client, order_clerk, sandbox, tenant):
    order = make_order(tenant)
    assert order_services.queue(order, order_clerk)
    queued = visible_text(clerk_client.get(reverse("orders:order-detail", args=[order.pk])))
    assert "Submitted by" not in queued and "Submitted " not in queued.split("Tracking")[1].split("Attempts")[0]
    assert f"Sent by {order_clerk.username} (not in Visma yet)" in queued
    order_services.submit(order.pk)
    assert SalesOrder.objects.get(pk=order.pk).state == SalesOrder.State.SUBMITTED
    submitted = visible_text(clerk_client.get(reverse("orders:order-detail", args=[order.pk])))
    assert f"Submitted by {order_clerk.username}, confirmed by Visma" in submitted


def test_no_backticks_in_what_pages_say(admin_client_, tenant, unapproved):
    from tenants.demo import register_sandbox

    register_sandbox("http://127.0.0.1:9", "demo-secret-value")
    for url in (
        reverse("dashboard"),
        reverse("tenants:tenant-list"),
        reverse("tenants:tenant-detail", args=[unapproved.pk]),
        reverse("tenants:application-detail", args=[Tenant.objects.get(tenant_id=TENANT_NOT_APPROVED).application.pk]),
    ):
        assert "`" not in visible_text(admin_client_.get(url)), url


def test_the_admin_client_sees_the_portal_unbroken(client: Client):
    assert client.get(reverse("dashboard")).status_code == 302


def test_test_connection_without_htmx_says_it_once(admin_client_, unapproved):
    response = admin_client_.post(reverse("tenants:tenant-check", args=[unapproved.pk]), follow=True)
    text = visible_text(response)
    assert "Test connection failed at 1. Token from Visma Connect." in text
    assert text.count(INVALID_TENANT_HINT) == 1
