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
