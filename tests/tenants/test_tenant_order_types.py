"""The order types a tenant's staff may choose: set on the tenant's form and in the admin, shown on its page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def tenant_data(tenant, **changes) -> dict:
    data = {
        "application": tenant.application_id,
        "name": tenant.name,
        "tenant_id": str(tenant.tenant_id),
        "can_read": "on",
        "can_write": "on",
        "active": "on",
    }
    return {**data, **changes}


def test_the_tenant_form_sets_the_order_types_written_the_models_way(admin_client_, tenant):
    url = reverse("tenants:tenant-edit", args=[tenant.pk])
    form = admin_client_.get(url).content.decode()
    assert 'name="order_types" value="SO"' in form
    assert "The order types set up in Visma that staff may choose, comma separated" in form
    assert "the first is the default" in form
    assert admin_client_.post(url, tenant_data(tenant, order_types=" se,so , qt")).status_code == 302
    tenant.refresh_from_db()
    assert tenant.order_types == "SE, SO, QT" and tenant.order_type_choices == ["SE", "SO", "QT"]


def test_empty_keeps_the_order_types(admin_client_, tenant):
    Tenant.objects.filter(pk=tenant.pk).update(order_types="SE, SO")
    url = reverse("tenants:tenant-edit", args=[tenant.pk])
    assert admin_client_.post(url, tenant_data(tenant, order_types=" ")).status_code == 302
    tenant.refresh_from_db()
    assert tenant.order_types == "SE, SO"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("SO, SO", "Each order type once: SO is listed twice."),
        ("SOX", "List order types of one or two capitals or digits"),
        ("S!", "List order types of one or two capitals or digits"),
        ("SO;SE", "List order types of one or two capitals or digits"),
        ("S\tO", "Use one line without control characters"),
    ],
)
def test_malformed_order_types_are_refused_next_to_the_field(admin_client_, tenant, value, message):
    response = admin_client_.post(
        reverse("tenants:tenant-edit", args=[tenant.pk]), tenant_data(tenant, order_types=value)
    )
    assert response.status_code == 200 and message in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.order_types == "SO"


def test_a_new_tenant_takes_so_unless_told_otherwise(admin_client_, application):
    data = {"application": application.pk, "name": "Ny AS", "tenant_id": "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"}
    assert admin_client_.post(reverse("tenants:tenant-create"), {**data, "can_read": "on"}).status_code == 302
    assert Tenant.objects.get().order_types == "SO"


def test_the_tenant_page_shows_the_order_types_and_the_default(viewer_client, tenant):
    Tenant.objects.filter(pk=tenant.pk).update(order_types="SE, SO")
    page = viewer_client.get(reverse("tenants:tenant-detail", args=[tenant.pk])).content.decode()
    assert '<span class="mono">SE, SO</span> <span class="small text-body-secondary">(SE is the default)</span>' in page


def test_order_type_changes_are_in_the_audit_trail(admin_client_, viewer_client, tenant):
    admin_client_.post(reverse("tenants:tenant-edit", args=[tenant.pk]), tenant_data(tenant, order_types="SO, SE"))
    page = viewer_client.get(reverse("tenants:tenant-detail", args=[tenant.pk])).content.decode()
    trail = page[page.index("Audit trail") :]
    assert "Order types" in trail and "SO, SE" in trail


def test_the_admin_edits_the_order_types(superuser, tenant):
    from tests.conftest import logged_in

    client = logged_in(superuser)
    page = client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk])).content.decode()
    assert 'name="order_types"' in page and "the first is the default" in page
