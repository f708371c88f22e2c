"""Audit trail: who changed what on applications, tenants, orders and users; secrets only as "secret changed"."""

from __future__ import annotations

from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from core.audit import SECRET_CHANGED, audit_rows
from core.roles import VIEWER
from orders.models import SalesOrder, SalesOrderLine
from tenants.models import Customer, ServiceApplication

pytestmark = pytest.mark.django_db
CANARY = "canary-secret-audit-9b2f"
APPLICATION = {
    "name": "Acme portal",
    "client_id": "acme",
    "description": "",
    "token_url": "https://connect.visma.com/connect/token",
    "api_url": "https://salesorder.visma.net",
    "token_lifetime": 3600,
    "active": "on",
}


def all_audit_text() -> str:
    return " ".join(str(v) for v in LogEntry.objects.values_list("changes", "changes_text", "serialized_data"))


def test_a_new_client_secret_is_recorded_as_secret_changed_never_its_value(admin_client_, integration_admin):
    admin_client_.post(reverse("tenants:application-create"), {**APPLICATION, "client_secret": CANARY})
    application = ServiceApplication.objects.get(client_id="acme")
    admin_client_.post(
        reverse("tenants:application-edit", args=[application.pk]),
        {**APPLICATION, "name": "Acme portal 2", "client_secret": CANARY + "-rotated"},
    )
    application.refresh_from_db()
    text = all_audit_text()
    assert CANARY not in text and application.encrypted_secret not in text
    rows = audit_rows(application)
    assert [row.action for row in rows] == ["update", "create"]
    assert all(row.actor == integration_admin.username for row in rows)
    changes = {change.field: change for change in rows[0].changes}
    assert changes["Name"].old == "Acme portal" and changes["Name"].new == "Acme portal 2"
    assert changes["Client secret"].is_secret

    html = admin_client_.get(reverse("tenants:application-detail", args=[application.pk])).content.decode()
    assert "Audit trail" in html and "secret changed" in html and integration_admin.username in html
    assert CANARY not in html


def test_tenant_changes_show_on_its_page(admin_client_, viewer_client, tenant):
    data = {
        "application": tenant.application.pk,
        "name": "Renamed AS",
        "tenant_id": str(tenant.tenant_id),
        "can_read": "on",
    }
    assert admin_client_.post(reverse("tenants:tenant-edit", args=[tenant.pk]), data).status_code == 302
    html = viewer_client.get(reverse("tenants:tenant-detail", args=[tenant.pk])).content.decode()
    assert "Audit trail" in html and "Renamed AS" in html and "ingrid-admin" in html


def test_token_health_updates_are_not_audit_noise(sandbox, tenant):
    from tenants.visma import VismaClient

    before = LogEntry.objects.count()
    VismaClient(tenant).token()
    assert LogEntry.objects.count() == before


def test_order_and_line_changes_are_on_the_order_including_deleted_lines(tenant, order_clerk):
    customer = Customer.objects.create(tenant=tenant, number="10000", name="Kunde", status="Active")
    order = SalesOrder.objects.create(tenant=tenant, customer=customer, created_by=order_clerk)
    line = SalesOrderLine.objects.create(order=order, position=1, inventory_id="STOCK-100", quantity=Decimal(1))
    order.description = "Changed"
    order.save()
    line.delete()
    rows = audit_rows(order)
    assert [(row.action, len(row.children)) for row in rows] == [
        ("1 line removed", 1),
        ("update", 0),
        ("1 line added", 1),
        ("create", 0),
    ]


def test_user_password_and_role_changes_are_recorded_without_the_hash(viewer):
    viewer.set_password("a-completely-new-password-1")
    viewer.save()
    viewer.groups.remove(Group.objects.get(name=VIEWER))
    text = all_audit_text()
    assert viewer.password not in text
    rows = audit_rows(viewer)
    assert any(change.is_secret for row in rows for change in row.changes)
    assert SECRET_CHANGED in text
    assert LogEntry.objects.get_for_object(viewer).filter(changes__icontains="groups").exists()


def test_superusers_read_the_trail_in_the_admin(superuser, tenant):
    client = Client()
    client.force_login(superuser)
    response = client.get(reverse("admin:auditlog_logentry_changelist"))
    assert response.status_code == 200 and tenant.name in response.content.decode()


def test_admin_shows_each_objects_audit_history(client, superuser, tenant):
    from django.urls import reverse

    client.force_login(superuser)
    tenant.name = "Renamed in the portal"
    tenant.save()
    changelist = client.get(reverse("admin:tenants_tenant_changelist")).content.decode()
    history_url = reverse("admin:tenants_tenant_auditlog", args=[tenant.pk])
    assert history_url in changelist
    history = client.get(history_url).content.decode()
    assert "Renamed in the portal" in history
    application_history = client.get(reverse("admin:tenants_serviceapplication_auditlog", args=[tenant.application.pk]))
    assert application_history.status_code == 200
    assert tenant.application.client_secret() not in application_history.content.decode()


def test_audit_entries_show_fields_not_ids_or_reverse_relations(tenant):
    from core.audit import audit_rows

    tenant.name = "Nordlys Handel ASA"
    tenant.save()
    labels = {change.field.lower() for row in audit_rows(tenant) for change in row.changes}
    assert "name" in labels
    assert not any(label in ("id",) or "sync" in label or "customers" in label for label in labels), labels
