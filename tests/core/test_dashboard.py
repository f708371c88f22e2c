from __future__ import annotations

import pytest
from django.urls import reverse

from tenants import sync
from tenants.customer_models import CustomerSync
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_dashboard_shows_each_tenants_health_in_a_fixed_number_of_queries(
    viewer_client, application, tenant, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12) as one:
        viewer_client.get(reverse("dashboard"))
    for i in range(5):
        other = Tenant.objects.create(
            application=application, tenant_id=f"00000000-0000-4000-8000-00000000000{i}", name=f"T{i}"
        )
        sync.start_sync(other, trigger=CustomerSync.Trigger.MANUAL, enqueue=False)
    with django_assert_max_num_queries(12) as six:
        response = viewer_client.get(reverse("dashboard"))
    assert len(one.captured_queries) == len(six.captured_queries)
    assert response.content.decode().count(">running<") == 5


def test_failing_tenant_links_to_where_it_is_fixed(viewer_client, tenant):
    Tenant.objects.filter(pk=tenant.pk).update(last_check_ok=False, last_check_message="invalid_tenant: not approved")
    html = viewer_client.get(reverse("dashboard")).content.decode()
    assert "Failing: fix it" in html and reverse("tenants:tenant-detail", args=[tenant.pk]) in html


def make_orders(tenant, user, states: dict[str, int]) -> None:
    from orders.models import SalesOrder
    from tenants.models import Customer

    customer, _ = Customer.objects.get_or_create(tenant=tenant, number="10000", defaults={"name": "Kunde"})
    for state, n in states.items():
        for _ in range(n):
            SalesOrder.objects.create(tenant=tenant, customer=customer, created_by=user, state=state)


def test_orders_by_state_and_failed_orders_link_to_the_filtered_list(
    viewer_client, viewer, application, tenant, django_assert_max_num_queries
):
    make_orders(tenant, viewer, {"draft": 2, "submitted": 3, "failed": 1})
    with django_assert_max_num_queries(14) as one:
        html = viewer_client.get(reverse("dashboard")).content.decode()
    assert f"/orders/?state=failed&amp;tenant={tenant.pk}" in html and "1 failed: fix it" in html
    assert "2 draft" in html and "3 submitted" in html
    for i in range(4):
        other = Tenant.objects.create(
            application=application, tenant_id=f"00000000-0000-4000-8000-00000000001{i}", name=f"T{i}"
        )
        make_orders(other, viewer, {"failed": 2, "queued": 1})
    with django_assert_max_num_queries(14) as five:
        html = viewer_client.get(reverse("dashboard")).content.decode()
    assert len(one.captured_queries) == len(five.captured_queries)
    assert html.count("2 failed: fix them") == 4


def test_rate_limit_budget_comes_from_the_latest_call(viewer_client, sandbox, tenant):
    from tenants.visma import VismaClient

    html = viewer_client.get(reverse("dashboard")).content.decode()
    assert "no calls yet" in html
    VismaClient(tenant).get_customers(page_index=0, page_size=1)
    VismaClient(tenant).get_customers(page_index=0, page_size=1)
    limit = sandbox.state.rate_limit
    html = viewer_client.get(reverse("dashboard")).content.decode()
    assert f"{limit - 2} of {limit}" in html


def test_an_ended_rate_window_shows_the_full_budget(viewer_client, tenant):
    from datetime import timedelta

    from django.utils import timezone

    from tenants import api_log
    from tenants.models import ApiCall

    call = api_log.record(
        tenant_id=tenant.pk, kind="api", method="GET", path="/x", status=200, duration_ms=1,
        rate_limit_limit=100, rate_limit_remaining=3, rate_limit_reset=60,
    )  # fmt: skip
    assert "3 of 100: nearly used up" in viewer_client.get(reverse("dashboard")).content.decode()
    ApiCall.objects.filter(pk=call.pk).update(rate_limit_reset_at=timezone.now() - timedelta(seconds=1))
    assert "full (100), new window" in viewer_client.get(reverse("dashboard")).content.decode()


def test_the_dashboard_answers_only_get(viewer_client):
    assert viewer_client.post(reverse("dashboard")).status_code == 405


def test_orders_waiting_long_for_vismas_answer_are_flagged(viewer_client, viewer, tenant):
    from datetime import timedelta

    from django.utils import timezone

    from orders.models import SalesOrder

    make_orders(tenant, viewer, {"submitting": 2})
    SalesOrder.objects.filter(pk=SalesOrder.objects.first().pk).update(created_at=timezone.now() - timedelta(hours=2))
    html = viewer_client.get(reverse("dashboard")).content.decode()
    assert "1 waiting for Visma&#x27;s answer" in html or "1 waiting for Visma's answer" in html
    assert f"?state=submitting&amp;tenant={tenant.pk}" in html
