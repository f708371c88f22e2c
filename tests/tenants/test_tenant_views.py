from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sandbox.seed import TENANT_NOT_APPROVED
from tenants.models import ServiceApplication, Tenant

pytestmark = pytest.mark.django_db
CANARY = "canary-secret-page-check"


def test_every_tenant_page_hides_the_secret_for_every_role(
    application, tenant, integration_admin, order_clerk, viewer, superuser
):
    application.set_secret(CANARY)
    application.save()
    pages = [
        reverse("tenants:tenant-list"),
        reverse("tenants:tenant-detail", args=[tenant.pk]),
        reverse("tenants:application-detail", args=[application.pk]),
        reverse("tenants:application-edit", args=[application.pk]),
        reverse("admin:tenants_serviceapplication_change", args=[application.pk]),
        reverse("admin:tenants_serviceapplication_changelist"),
    ]
    for user in (integration_admin, order_clerk, viewer, superuser):
        client = Client()
        client.force_login(user)
        for page in pages:
            response = client.get(page)
            assert response.status_code in (200, 302, 403)
            assert CANARY.encode() not in response.content, (user.username, page)


def test_admin_registers_an_application_with_a_write_only_secret(admin_client_):
    data = {
        "name": "Acme portal",
        "client_id": "acme",
        "description": "",
        "client_secret": "first-secret",
        "token_url": "https://connect.visma.com/connect/token",
        "api_url": "https://salesorder.visma.net",
        "token_lifetime": 3600,
        "active": "on",
    }
    response = admin_client_.post(reverse("tenants:application-create"), data)
    application = ServiceApplication.objects.get(client_id="acme")
    assert response.status_code == 302 and application.client_secret() == "first-secret"
    version = application.secret_version
    edit = admin_client_.get(reverse("tenants:application-edit", args=[application.pk])).content.decode()
    assert "first-secret" not in edit and "Set on" in edit
    admin_client_.post(reverse("tenants:application-edit", args=[application.pk]), {**data, "client_secret": ""})
    application.refresh_from_db()
    assert application.client_secret() == "first-secret" and application.secret_version == version


def test_tenant_form_rejects_a_malformed_tenant_id_next_to_the_field(admin_client_, application):
    response = admin_client_.post(
        reverse("tenants:tenant-create"),
        {"application": application.pk, "name": "X", "tenant_id": "not-a-uuid", "can_read": "on"},
    )
    assert response.status_code == 200
    assert b"is-invalid" in response.content and b"valid UUID" in response.content
    assert not Tenant.objects.exists()


@pytest.mark.parametrize("client_name", ["clerk_client", "viewer_client"])
def test_only_integration_admins_change_applications_and_tenants(request, client_name, application, tenant):
    client = request.getfixturevalue(client_name)
    for url in (
        reverse("tenants:tenant-create"),
        reverse("tenants:tenant-edit", args=[tenant.pk]),
        reverse("tenants:application-create"),
        reverse("tenants:application-edit", args=[application.pk]),
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, {"name": "hijack"}).status_code == 403
    assert client.post(reverse("tenants:tenant-deactivate", args=[tenant.pk])).status_code == 403
    html = client.get(reverse("tenants:tenant-detail", args=[tenant.pk])).content.decode()
    assert ">Edit<" not in html and "Deactivate" not in html
    tenant.refresh_from_db()
    assert tenant.active


def test_test_connection_through_htmx_shows_three_steps(admin_client_, tenant, sandbox):
    response = admin_client_.post(reverse("tenants:tenant-check", args=[tenant.pk]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    report, _, out_of_band = html.partition('id="check-badge"')
    assert response.status_code == 200 and report.count("badge text-bg-success") == 3
    assert "Connected" in out_of_band and "To do" not in out_of_band
    tenant.refresh_from_db()
    assert tenant.last_check_ok is True
    assert b"Connected" in admin_client_.get(reverse("tenants:tenant-list")).content


def test_not_approved_tenant_shows_app_store_guidance(admin_client_, application, sandbox):
    tenant = Tenant.objects.create(application=application, tenant_id=TENANT_NOT_APPROVED, name="Vidde")
    html = admin_client_.post(
        reverse("tenants:tenant-check", args=[tenant.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Visma App Store" in html and "invitation code" in html and "invalid_tenant" in html


def test_viewer_cannot_test_connections(viewer_client, tenant):
    assert viewer_client.post(reverse("tenants:tenant-check", args=[tenant.pk])).status_code == 403


def test_onboarding_checklist_ticks_what_is_verified(admin_client_, tenant, sandbox):
    before = admin_client_.get(reverse("tenants:tenant-detail", args=[tenant.pk])).content.decode()
    assert before.count("To do") >= 4
    admin_client_.post(reverse("tenants:tenant-check", args=[tenant.pk]))
    after = admin_client_.get(reverse("tenants:tenant-detail", args=[tenant.pk])).content.decode()
    assert "To do" not in after


def test_demo_data_registers_the_sandbox_application_and_tenants(settings, sandbox):
    from core.demo import load_demo_data

    settings.VISMA_SANDBOX_CLIENT_SECRET = "sandbox-secret-for-the-suite"
    assert "3" in load_demo_data(sandbox.base_url)[0]
    load_demo_data(sandbox.base_url)
    assert Tenant.objects.count() == 3


def test_application_can_be_deactivated_and_reactivated_by_an_integration_admin(
    admin_client_, clerk_client, application
):
    url = reverse("tenants:application-deactivate", args=[application.pk])
    assert clerk_client.post(url).status_code == 403
    admin_client_.post(url)
    application.refresh_from_db()
    assert not application.active
    admin_client_.post(url)
    application.refresh_from_db()
    assert application.active


def test_admin_action_tests_the_connection(client, superuser, tenant, sandbox):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:tenants_tenant_changelist"),
        {"action": "test_connection", "_selected_action": [tenant.pk]},
        follow=True,
    )
    assert b"All steps passed." in response.content
