from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tenants.customer_models import Customer

pytestmark = pytest.mark.django_db


def make_customers(tenant, count: int, start: int = 10000, **fields) -> None:
    Customer.objects.bulk_create(
        Customer(tenant=tenant, number=str(start + i), name=fields.get("name", f"Kunde {i}"), status="Active")
        for i in range(count)
    )


def test_list_query_count_does_not_grow_with_the_page(viewer_client, tenant, django_assert_max_num_queries):
    url = reverse("tenants:customer-list")
    make_customers(tenant, 5)
    with django_assert_max_num_queries(8) as small:
        viewer_client.get(url, {"size": 200})
    make_customers(tenant, 195, start=20000)
    with django_assert_max_num_queries(8) as large:
        response = viewer_client.get(url, {"size": 200})
    assert len(small.captured_queries) == len(large.captured_queries)
    assert response.content.count(b"/customers/") >= 200


def test_search_matches_number_or_name_case_insensitively(viewer_client, tenant):
    Customer.objects.create(tenant=tenant, number="10001", name="Solstraale Bakeri AS", status="Active")
    Customer.objects.create(tenant=tenant, number="20002", name="Fjordkraft", status="Active")
    by_name = viewer_client.get(reverse("tenants:customer-list"), {"q": "SOLSTRAALE"}).content.decode()
    assert "Solstraale Bakeri AS" in by_name and "Fjordkraft" not in by_name
    by_number = viewer_client.get(reverse("tenants:customer-list"), {"q": "2000"}).content.decode()
    assert "Fjordkraft" in by_number and "Solstraale" not in by_number


def test_filters_by_status_and_removed_state(viewer_client, tenant):
    Customer.objects.create(tenant=tenant, number="1", name="Still here", status="Active")
    Customer.objects.create(tenant=tenant, number="2", name="On hold one", status="OnHold")
    Customer.objects.create(tenant=tenant, number="3", name="Gone away", status="Active", removed_at=timezone.now())
    url = reverse("tenants:customer-list")
    html = viewer_client.get(url, {"status": "OnHold"}).content.decode()
    assert "On hold one" in html and "Still here" not in html
    html = viewer_client.get(url).content.decode()
    assert "Gone away" not in html
    html = viewer_client.get(url, {"state": "removed"}).content.decode()
    assert "Gone away" in html and "Still here" not in html


def test_bad_query_parameters_fall_back_instead_of_failing(viewer_client, tenant):
    response = viewer_client.get(
        reverse("tenants:customer-list"), {"sort": "password", "size": "x", "page": "-4", "tenant": "nope"}
    )
    assert response.status_code == 200


def test_customer_names_from_visma_are_escaped(viewer_client, tenant):
    customer = Customer.objects.create(tenant=tenant, number="666", name="<script>alert(1)</script>", status="Active")
    for url in (reverse("tenants:customer-list"), reverse("tenants:customer-detail", args=[customer.pk])):
        html = viewer_client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_detail_shows_visma_fields(viewer_client, tenant):
    customer = Customer.objects.create(
        tenant=tenant, number="10042", name="Bergen Bok", status="Active", currency="NOK", location_id="MAIN"
    )
    html = viewer_client.get(reverse("tenants:customer-detail", args=[customer.pk])).content.decode()
    assert "10042" in html and "NOK" in html and "MAIN" in html


def test_unknown_customer_is_404(viewer_client):
    assert viewer_client.get(reverse("tenants:customer-detail", args=[999999])).status_code == 404


def test_users_without_a_role_cannot_see_customers(client, django_user_model):
    nobody = django_user_model.objects.create_user("no-role", password="x")
    client.force_login(nobody)
    assert client.get(reverse("tenants:customer-list")).status_code == 403


def test_sync_status_partial_polls_only_while_running(viewer_client, tenant):
    from tenants import sync
    from tenants.customer_models import CustomerSync

    url = reverse("tenants:sync-status", args=[tenant.pk])
    assert b"Never synced" in viewer_client.get(url).content
    running = sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False)
    assert b'hx-trigger="every 1s"' in viewer_client.get(url).content
    CustomerSync.objects.filter(pk=running.pk).update(outcome="succeeded", finished_at=timezone.now())
    html = viewer_client.get(url).content
    assert b"hx-trigger" not in html and b"Synced" in html


def test_detail_lists_the_orders_the_portal_made_for_the_customer(viewer_client, tenant):
    from orders.models import SalesOrder

    customer = Customer.objects.create(tenant=tenant, number="10077", name="Ordered AS", status="Active")
    order = SalesOrder.objects.create(
        tenant=tenant, customer=customer, customer_order="PO-1", visma_type="SO", visma_number="000042"
    )
    html = viewer_client.get(reverse("tenants:customer-detail", args=[customer.pk])).content.decode()
    assert order.reference in html and "SO 000042" in html and "PO-1" in html
