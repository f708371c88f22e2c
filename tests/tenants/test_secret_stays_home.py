"""The client secret and access tokens go to Visma's hosts and nowhere else: not to an edited URL, not through a
redirect, not after deactivation; and what a remote says back is cleaned before anybody sees it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tenants.admin import ServiceApplicationForm
from tenants.inventory import item_suggestions
from tenants.models import ServiceApplication, Tenant
from tenants.services import check_connection
from tenants.visma import Refused, TokenRejected, VismaClient, VismaError, VismaUnavailable
from tenants.visma.hosts import url_problem
from tests.conftest import SANDBOX_SECRET
from tests.listener import Listener

pytestmark = pytest.mark.django_db


def form_data(application: ServiceApplication, **changes) -> dict:
    data = {
        "name": application.name,
        "client_id": application.client_id,
        "description": application.description,
        "token_url": application.token_url,
        "api_url": application.api_url,
        "token_lifetime": application.token_lifetime,
        "active": "on" if application.active else "",
        "client_secret": "",
    }
    return {**data, **changes}


@pytest.mark.parametrize(
    "url",
    [
        "http://connect.visma.com/connect/token",
        "ftp://connect.visma.com/connect/token",
        "https://169.254.169.254/latest/meta-data",
        "https://evil.example.com/connect/token",
        "https://visma.net.evil.example.com/",
        "https://connect.visma.com.evil.example/",
        "https://user:pw@connect.visma.com/connect/token",
    ],
)
def test_urls_outside_visma_are_refused(url):
    assert url_problem(url)


@pytest.mark.parametrize("url", ["https://connect.visma.com/connect/token", "https://salesorder.visma.net"])
def test_visma_hosts_are_allowed(url):
    assert url_problem(url) == ""


def test_loopback_needs_the_sandbox_switch(settings):
    settings.VISMA_ALLOW_LOOPBACK = False
    for url in ("http://localhost:6379", "https://127.0.0.1:8765", "http://[::1]:80", "http://127.1.2.3/"):
        assert "VISMA_ALLOW_LOOPBACK" in url_problem(url)
    settings.VISMA_ALLOW_LOOPBACK = True
    assert url_problem("http://127.0.0.1:8765/connect/token") == ""


def test_form_refuses_a_foreign_token_url(application):
    form = ServiceApplicationForm(
        form_data(application, token_url="https://attacker.example/t", client_secret="x" * 20), instance=application
    )
    assert not form.is_valid()
    assert "not one of Visma's hosts" in " ".join(form.errors["token_url"])


def test_add_application_refuses_a_foreign_api_url(monkeypatch):
    monkeypatch.setenv("VISMA_CLIENT_SECRET", "a-secret-from-the-environment")
    with pytest.raises(CommandError, match="not one of Visma's hosts"):
        call_command(
            "add_application",
            "--client-id",
            "x",
            "--name",
            "X",
            "--api-url",
            "https://api.evil.example",
            stdout=StringIO(),
        )
    assert not ServiceApplication.objects.filter(client_id="x").exists()


def test_changing_the_token_url_needs_the_secret_again_and_the_listener_gets_nothing(
    admin_client_, application, tenant
):
    with Listener(body={"access_token": "stolen", "expires_in": 3600}) as listener:
        response = admin_client_.post(
            f"/tenants/applications/{application.pk}/edit/",
            form_data(application, token_url=f"{listener.url}/connect/token"),
        )
        assert response.status_code == 200
        assert "enter the client secret again" in response.content.decode()
        application.refresh_from_db()
        assert not application.token_url.startswith(listener.url)

        # A row changed behind the form's back (shell, bad import): the secret is bound to the old URLs.
        ServiceApplication.objects.filter(pk=application.pk).update(token_url=f"{listener.url}/connect/token")
        tenant.refresh_from_db()
        report = check_connection(tenant)
        assert not report.ok and "Enter the secret again" in report.steps[0].detail
        assert listener.received == []


def test_changing_only_the_api_url_never_sends_the_cached_token_there(sandbox, application, tenant):
    VismaClient(tenant).token()  # a live token in the cache
    with Listener(body={"value": []}) as listener:
        ServiceApplication.objects.filter(pk=application.pk).update(api_url=listener.url)
        tenant.refresh_from_db()
        with pytest.raises(Refused):
            VismaClient(tenant).get_customers(0, 10)
        assert listener.received == []


def test_token_cache_key_follows_the_urls(application, tenant):
    before = VismaClient(tenant)._cache_key
    application.api_url = "https://other.visma.net"
    assert VismaClient(tenant)._cache_key != before


def test_a_row_with_a_foreign_host_is_refused_at_request_time(settings, sandbox, application, tenant):
    with Listener(body={"access_token": "x", "expires_in": 3600}) as listener:
        application.token_url = f"{listener.url}/connect/token"
        application.set_secret(SANDBOX_SECRET)
        application.save()
        tenant.refresh_from_db()
        settings.VISMA_ALLOW_LOOPBACK = False  # the deployment's rule changed after the row was saved
        with pytest.raises(Refused, match="VISMA_ALLOW_LOOPBACK"):
            VismaClient(tenant).token()
        assert listener.received == []


def test_token_request_does_not_follow_a_redirect(application, tenant):
    with Listener(body={"access_token": "x", "expires_in": 3600}) as thief:
        with Listener(status=307, headers={"Location": f"{thief.url}/connect/token"}) as redirector:
            application.token_url = f"{redirector.url}/connect/token"
            application.set_secret(SANDBOX_SECRET)
            application.save()
            tenant.refresh_from_db()
            with pytest.raises(Refused, match="redirect"):
                VismaClient(tenant).token()
            assert len(redirector.received) == 1
        assert thief.received == []


def test_api_call_does_not_follow_a_redirect(sandbox, application, tenant):
    with Listener(body={"value": []}) as thief:
        with Listener(status=302, headers={"Location": f"{thief.url}/api/v3/Customers"}) as redirector:
            VismaClient(tenant).token()
            application.api_url = redirector.url
            application.set_secret(SANDBOX_SECRET)
            application.save()
            tenant.refresh_from_db()
            with pytest.raises(VismaError, match="does not follow redirects"):
                VismaClient(tenant).get_customers(0, 10)
        assert thief.received == []


def test_text_from_a_remote_is_cleaned_of_our_secret_and_tokens(application, tenant):
    description = f"client {SANDBOX_SECRET} was wrong; try Bearer eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl " + "x" * 2000
    with Listener(status=400, body={"error": "invalid_client", "error_description": description}) as listener:
        application.token_url = f"{listener.url}/connect/token"
        application.set_secret(SANDBOX_SECRET)
        application.save()
        tenant.refresh_from_db()
        with pytest.raises(TokenRejected) as caught:
            VismaClient(tenant).token()
    text = str(caught.value)
    assert SANDBOX_SECRET not in text and "eyJhbGciOi" not in text and len(text) < 1000
    tenant.refresh_from_db()
    assert SANDBOX_SECRET not in tenant.last_token_error


@pytest.mark.parametrize("error", ["server_error", "temporarily_unavailable"])
def test_token_endpoint_trouble_is_waited_out_not_a_rejection(application, tenant, error):
    with Listener(status=503, body={"error": error}) as listener:
        application.token_url = f"{listener.url}/connect/token"
        application.set_secret(SANDBOX_SECRET)
        application.save()
        tenant.refresh_from_db()
        with pytest.raises(VismaUnavailable) as caught:
            VismaClient(tenant).token()
    assert caught.value.retryable and not isinstance(caught.value, TokenRejected)


@pytest.mark.parametrize("error", ["invalid_client", "invalid_scope", "invalid_grant", "unauthorized_client"])
def test_only_credential_errors_are_permanent(application, tenant, error):
    with Listener(status=400, body={"error": error}) as listener:
        application.token_url = f"{listener.url}/connect/token"
        application.set_secret(SANDBOX_SECRET)
        application.save()
        tenant.refresh_from_db()
        with pytest.raises(TokenRejected):
            VismaClient(tenant).token()


def test_deactivated_application_or_tenant_makes_no_call_at_all(sandbox, application, tenant):
    before = sandbox.state.token_request_count(application.client_id, str(tenant.tenant_id))
    ServiceApplication.objects.filter(pk=application.pk).update(active=False)
    tenant = Tenant.objects.select_related("application").get(pk=tenant.pk)
    items, problem = item_suggestions(tenant)
    assert items == [] and "deactivated" in problem
    assert not check_connection(tenant).ok
    ServiceApplication.objects.filter(pk=application.pk).update(active=True)
    Tenant.objects.filter(pk=tenant.pk).update(active=False)
    tenant = Tenant.objects.select_related("application").get(pk=tenant.pk)
    with pytest.raises(Refused, match="deactivated"):
        VismaClient(tenant).token()
    assert sandbox.state.token_request_count(application.client_id, str(tenant.tenant_id)) == before


def test_add_application_keeping_the_secret_refuses_new_urls(application, monkeypatch):
    with pytest.raises(CommandError, match="give the client secret again"):
        call_command(
            "add_application",
            "--client-id",
            application.client_id,
            "--name",
            application.name,
            "--token-url",
            "https://connect.visma.com/connect/token",
            "--keep-secret",
            stdout=StringIO(),
        )
    application.refresh_from_db()
    assert not application.secret_needs_reentry and application.token_url != "https://connect.visma.com/connect/token"
