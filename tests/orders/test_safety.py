"""What must never happen: a double click making two orders, a settled order reopened, a 500 from odd Visma answers
or missing secrets, the admin rewriting an order Visma has, the sweeper stopped by one bad order."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from orders import services
from orders.models import SalesOrder, SalesOrderLine
from tenants.models import ServiceApplication
from tenants.visma import VismaError, _retry_after
from tests.orders.test_order_views import THREE_LINES, form_data, make_order

pytestmark = pytest.mark.django_db
State = SalesOrder.State


def test_a_double_click_on_save_and_submit_makes_one_order(
    clerk_client, customers, sandbox, django_capture_on_commit_callbacks
):
    data = {**form_data(customers["10001"], THREE_LINES, action="submit"), "form_token": "ab" * 16}
    with django_capture_on_commit_callbacks(execute=True):
        first = clerk_client.post(reverse("orders:order-create"), data)
        second = clerk_client.post(reverse("orders:order-create"), data)
    order = SalesOrder.objects.get()
    assert first.url == second.url == reverse("orders:order-detail", args=[order.pk])
    assert len(sandbox.state.orders()) == 1


def test_a_late_transition_never_reopens_a_settled_order(customers, tenant):
    order = make_order(tenant, customers["10001"], state=State.SUBMITTED)
    SalesOrder.objects.filter(pk=order.pk).update(visma_type="SO", visma_number="000001")
    services._requeue(order, VismaError("late"))
    services._fail(order, VismaError("late"))
    order.refresh_from_db()
    assert order.state == State.SUBMITTED and order.visma_number == "000001"


@pytest.mark.parametrize(
    "details",
    [
        {"errors": ["not", "a", "dict"], "details": "text"},
        {"errors": {"orderLines[0].inventoryId": "one string"}, "details": ["plain string"]},
        {"errors": {}, "details": {"code": "x"}},
        ["a list"],
    ],
)
def test_odd_problem_bodies_from_visma_still_show_the_order(clerk_client, customers, tenant, details):
    order = make_order(tenant, customers["10001"], state=State.FAILED)
    SalesOrder.objects.filter(pk=order.pk).update(last_error="Visma rejected the request", last_error_details=details)
    assert clerk_client.get(reverse("orders:order-detail", args=[order.pk])).status_code == 200
    assert clerk_client.get(reverse("orders:order-edit", args=[order.pk])).status_code == 200


def test_a_tenant_without_a_usable_secret_fails_its_order_and_the_sweeper_goes_on(customers, tenant, sandbox):
    ServiceApplication.objects.filter(pk=tenant.application_id).update(encrypted_secret="")
    order = make_order(tenant, customers["10001"], state=State.QUEUED)
    other = make_order(tenant, customers["10002"], state=State.SUBMITTING)
    SalesOrder.objects.filter(pk=other.pk).update(attempt_started_at=timezone.now() - timedelta(hours=1))
    services.submit(order.pk)
    order.refresh_from_db()
    assert order.state == State.FAILED and "client secret" in order.last_error
    assert "enqueued" in services.sweep()  # the stuck order's lookup fails too, and nothing raises
    assert SalesOrder.objects.get(pk=other.pk).state == State.SUBMITTING


def test_item_suggestions_explain_a_missing_secret(clerk_client, tenant, sandbox):
    ServiceApplication.objects.filter(pk=tenant.application_id).update(encrypted_secret="")
    page = clerk_client.get(reverse("orders:inventory-options"), {"tenant": tenant.pk})
    assert page.status_code == 200 and "client secret" in page.content.decode()


def test_an_order_with_150_lines_saves(clerk_client, customers):
    lines = [{"inventory_id": "STOCK-100", "quantity": "1", "unit_price": "1"}] * 150
    response = clerk_client.post(reverse("orders:order-create"), form_data(customers["10001"], lines))
    assert response.status_code == 302
    assert SalesOrderLine.objects.count() == 150


def test_the_admin_cannot_rewrite_or_delete_an_order_visma_has(client, superuser, customers, tenant):
    client.force_login(superuser)
    order = make_order(tenant, customers["10001"], state=State.SUBMITTED)
    page = client.get(reverse("admin:orders_salesorder_change", args=[order.pk])).content.decode()
    assert 'name="description"' not in page and 'name="customer"' not in page
    assert client.post(reverse("admin:orders_salesorder_delete", args=[order.pk]), {"post": "yes"}).status_code == 403
    changelist = client.get(reverse("admin:orders_salesorder_changelist")).content.decode()
    assert "delete_selected" not in changelist
    assert SalesOrder.objects.filter(pk=order.pk).exists()


def test_the_admin_refuses_a_customer_of_another_tenant(client, superuser, customers, tenant, application):
    from sandbox.seed import TENANT_READ_ONLY
    from tenants.models import Customer, Tenant

    client.force_login(superuser)
    other = Tenant.objects.create(application=application, tenant_id=TENANT_READ_ONLY, name="Other")
    stranger = Customer.objects.create(tenant=other, number="99", name="Elsewhere", status="Active")
    order = make_order(tenant, customers["10001"])
    data = {
        "tenant": tenant.pk,
        "customer": stranger.pk,
        "order_type": "SO",
        "date": "2026-11-25",
        "status": "Open",
        "lines-TOTAL_FORMS": 0,
        "lines-INITIAL_FORMS": 0,
        "attempts_log-TOTAL_FORMS": 0,
        "attempts_log-INITIAL_FORMS": 0,
    }
    response = client.post(reverse("admin:orders_salesorder_change", args=[order.pk]), data)
    assert "belongs to another tenant" in response.content.decode()
    order.refresh_from_db()
    assert order.customer == customers["10001"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7),
        ({"X-RateLimit-Reset": "12"}, 12),
        ({}, 60),
        ({"Retry-After": "999999"}, 3600),
    ],
)
def test_rate_limit_waits_are_read_and_kept_within_an_hour(headers, expected):
    response = requests.Response()
    response.headers.update(headers)
    assert _retry_after(response) == expected


def test_an_epoch_rate_limit_reset_becomes_seconds_from_now():
    response = requests.Response()
    response.headers["X-RateLimit-Reset"] = str(int(timezone.now().timestamp()) + 42)
    assert 40 <= _retry_after(response) <= 42


def test_an_order_queued_before_its_tenant_lost_the_write_scope_fails_with_the_reason(customers, tenant, sandbox):
    from tenants.models import Tenant

    order = make_order(tenant, customers["10001"], state=State.QUEUED)
    Tenant.objects.filter(pk=tenant.pk).update(can_write=False)
    services.submit(order.pk)
    order.refresh_from_db()
    assert order.state == State.FAILED and "has not approved the write scope" in order.last_error
    assert sandbox.state.orders() == []
