from __future__ import annotations

import logging
import threading
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django_q.models import OrmQ, Task

from sandbox.seed import DEMO_CLIENT_ID, TENANT_FULL, TENANT_NOT_APPROVED, TENANT_READ_ONLY
from tenants import crypto
from tenants.models import ServiceApplication, Tenant
from tenants.services import check_connection
from tenants.visma import TokenRejected, VismaClient, VismaUnavailable
from tests.conftest import SANDBOX_SECRET

pytestmark = pytest.mark.django_db
CANARY = "canary-secret-7f3a9c"


def tenant_for(application, tenant_id: str, **fields) -> Tenant:
    return Tenant.objects.create(application=application, tenant_id=tenant_id, name=f"T {tenant_id[:4]}", **fields)


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_callers_cause_one_token_request(sandbox, tenant):
    tokens, errors = [], []

    def call():
        try:
            tokens.append(VismaClient(Tenant.objects.get(pk=tenant.pk)).token().access_token)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(tokens)) == 1
    assert sandbox.state.token_request_count(DEMO_CLIENT_ID, TENANT_FULL) == 1


def test_token_is_reused_until_it_expires_and_bound_to_its_tenant(sandbox, application, tenant):
    other = tenant_for(application, TENANT_READ_ONLY, can_write=False)
    first = VismaClient(tenant).token()
    assert VismaClient(tenant).token() == first
    assert VismaClient(other).token() != first
    assert sandbox.state.lookup_token(first.access_token).tenant_id == TENANT_FULL


def test_new_secret_means_new_token(sandbox, application, tenant):
    first = VismaClient(tenant).token()
    application.set_secret("sandbox-secret-for-the-suite")
    application.save()
    tenant.refresh_from_db()
    assert VismaClient(tenant).token() != first
    assert sandbox.state.token_request_count(DEMO_CLIENT_ID, TENANT_FULL) == 2


def test_a_401_from_the_api_refreshes_the_token_once_and_replays(sandbox, tenant):
    client = VismaClient(tenant)
    client.get_customers(0, 1)
    sandbox.state.expire_tokens()
    page = client.get_customers(0, 1)
    assert page.total_count == 40
    assert sandbox.state.token_request_count(DEMO_CLIENT_ID, TENANT_FULL) == 2


@pytest.mark.parametrize(
    ("tenant_id", "change", "code", "advice"),
    [
        (TENANT_FULL, "wrong-secret", "invalid_client", "Generate a new secret in the Visma Developer Portal"),
        (TENANT_NOT_APPROVED, None, "invalid_tenant", "has not approved the application in the Visma App Store"),
        (TENANT_READ_ONLY, None, "invalid_scope", "SalesOrder API integration with read/write scopes"),
    ],
)
def test_token_errors_explain_what_to_do_and_keep_visma_code(sandbox, application, tenant_id, change, code, advice):
    if change:
        sandbox.state.rotate_client_secret(change)
    tenant = tenant_for(application, tenant_id)
    with pytest.raises(TokenRejected) as caught:
        VismaClient(tenant).token()
    assert caught.value.code == code
    assert advice in str(caught.value) and f"Visma code {code}" in str(caught.value)
    tenant.refresh_from_db()
    assert tenant.token_failures == 1 and code in tenant.last_token_error


def test_unreachable_token_endpoint_names_the_host(application, tenant):
    application.token_url = "http://127.0.0.1:9/connect/token"
    application.set_secret(SANDBOX_SECRET)  # a changed URL needs the secret entered again
    application.save()
    tenant.refresh_from_db()
    with pytest.raises(VismaUnavailable, match=r"127\.0\.0\.1:9"):
        VismaClient(tenant).token()


def test_check_connection_full_read_only_and_not_approved(sandbox, application, tenant):
    report = check_connection(tenant)
    assert report.ok and [s.state for s in report.steps] == ["ok", "ok", "ok"]
    assert "40 customers" in report.steps[1].detail
    read_only = tenant_for(application, TENANT_READ_ONLY, can_write=False)
    report = check_connection(read_only)
    assert [s.state for s in report.steps] == ["ok", "ok", "skipped"]
    assert report.ok and "approved read only" in report.steps[2].detail  # registered read only: nothing is broken
    not_approved = tenant_for(application, TENANT_NOT_APPROVED)
    report = check_connection(not_approved)
    assert [s.state for s in report.steps] == ["failed", "skipped", "skipped"]
    not_approved.refresh_from_db()
    assert not_approved.last_check_ok is False and "App Store" in not_approved.last_check_message


def test_secrets_are_encrypted_at_rest_and_a_wrong_key_fails_loudly(settings, application):
    raw = ServiceApplication.objects.values_list("encrypted_secret", flat=True).get(pk=application.pk)
    assert raw.startswith("gAAAAA") and "sandbox-secret" not in raw
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.EncryptionKeyError, match="FIELD_ENCRYPTION_KEY"):
        ServiceApplication.objects.get(pk=application.pk).client_secret()
    settings.FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(crypto.EncryptionKeyError, match="not set"):
        ServiceApplication.objects.get(pk=application.pk).client_secret()


def test_rotate_encryption_key_re_encrypts_every_secret(settings, application):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    out = StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "Re-encrypted 1 client secret." in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert ServiceApplication.objects.get(pk=application.pk).client_secret() == "sandbox-secret-for-the-suite"


def test_commands_register_idempotently_and_never_take_a_secret_on_argv(monkeypatch, sandbox):
    monkeypatch.setenv("VISMA_CLIENT_SECRET", "sandbox-secret-for-the-suite")
    args = [
        "--client-id",
        DEMO_CLIENT_ID,
        "--name",
        "Demo",
        "--token-url",
        sandbox.token_url,
        "--api-url",
        sandbox.api_url,
    ]
    call_command("add_application", *args, stdout=StringIO())
    call_command("add_application", *args[:3], "Demo renamed", "--keep-secret", stdout=StringIO())
    assert ServiceApplication.objects.get().name == "Demo renamed"
    with pytest.raises(CommandError, match="never accepted on the command line"):
        call_command("add_application", *args, "--client-secret", "x", stdout=StringIO())
    call_command(
        "add_tenant", "--client-id", DEMO_CLIENT_ID, "--tenant-id", TENANT_FULL, "--name", "N", stdout=StringIO()
    )
    call_command(
        "add_tenant", "--client-id", DEMO_CLIENT_ID, "--tenant-id", TENANT_FULL, "--name", "N2", stdout=StringIO()
    )
    assert Tenant.objects.get().name == "N2"
    with pytest.raises(CommandError, match="not a valid tenant ID"):
        call_command(
            "add_tenant", "--client-id", DEMO_CLIENT_ID, "--tenant-id", "nope", "--name", "N", stdout=StringIO()
        )
    out = StringIO()
    call_command("check_tenant", TENANT_FULL, stdout=out)
    assert out.getvalue().count("[OK  ]") == 3


def test_check_tenant_exits_1_on_failure(sandbox, application):
    tenant_for(application, TENANT_NOT_APPROVED)
    out = StringIO()
    with pytest.raises(CommandError, match="failed"):
        call_command("check_tenant", TENANT_NOT_APPROVED, stdout=out)
    assert "[FAIL]" in out.getvalue()


def test_canary_secret_and_token_never_reach_logs_tasks_or_errors(sandbox, application, caplog):
    sandbox.state.rotate_client_secret(CANARY)
    application.set_secret(CANARY)
    application.save()
    tenant = tenant_for(application, TENANT_FULL)
    caplog.set_level(logging.DEBUG)
    token = VismaClient(tenant).token().access_token
    VismaClient(tenant).get_customers(0, 5)
    sandbox.state.rotate_client_secret("something-else")
    application.set_secret("also-wrong")
    application.save()
    tenant.refresh_from_db()
    with pytest.raises(TokenRejected) as caught:
        VismaClient(tenant).token()
    text = caplog.text + str(caught.value) + repr(caught.value) + tenant.last_token_error
    text += "".join(str(t.args) + str(t.result) for t in Task.objects.all()) + str(list(OrmQ.objects.values()))
    assert CANARY not in text and token not in text
