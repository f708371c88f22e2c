"""The API call log: one row per Visma request, with what staff need and nothing secret; its screen and pruning."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from sandbox.seed import TENANT_FULL
from tenants import api_log, sync
from tenants.models import ApiCall, CustomerSync, Tenant
from tenants.visma import TokenRejected, VismaClient, VismaError, VismaUnavailable

pytestmark = pytest.mark.django_db
CANARY = "canary-secret-api-log-5d1e"


def test_token_and_api_calls_are_logged_with_status_request_id_and_rate_limit(sandbox, tenant):
    VismaClient(tenant).get_customers(page_index=0, page_size=5)
    token_call, api_call = ApiCall.objects.order_by("pk")
    assert (token_call.kind, token_call.method, token_call.path, token_call.status) == (
        "token",
        "POST",
        "/connect/token",
        200,
    )
    assert (api_call.kind, api_call.method, api_call.path, api_call.status) == ("api", "GET", "/api/v3/Customers", 200)
    assert api_call.outcome == ApiCall.Outcome.OK and api_call.tenant == tenant
    assert api_call.request_id and api_call.request_id == sandbox.state.request_log()[-1].get(
        "request_id", api_call.request_id
    )
    assert api_call.rate_limit_limit == sandbox.state.rate_limit
    assert api_call.rate_limit_remaining == sandbox.state.rate_limit - 1
    assert api_call.rate_limit_reset_at > timezone.now()


def test_the_path_never_carries_the_query_string(sandbox, tenant):
    with contextlib.suppress(VismaError):
        VismaClient(tenant).get_customers(page_index=0, page_size=5, filter="name eq 'x'")
    assert set(ApiCall.objects.values_list("path", flat=True)) == {"/connect/token", "/api/v3/Customers"}


def test_rejections_and_network_failures_have_their_own_outcome(sandbox, tenant):
    client = VismaClient(tenant)
    client.token()
    sandbox.state.set_faults([{"method": "GET", "path": "/api/v3/Customers", "kind": "reset"}])
    with pytest.raises(VismaUnavailable):
        client.get_customers(page_index=0, page_size=5)
    sandbox.state.set_faults([])
    wrong = Tenant.objects.create(application=tenant.application, tenant_id=TENANT_FULL.replace("1", "2", 1), name="X")
    with pytest.raises(TokenRejected):
        VismaClient(wrong).token()
    outcomes = list(ApiCall.objects.order_by("pk").values_list("outcome", "status"))
    assert outcomes[1] == (ApiCall.Outcome.NO_ANSWER, None)
    assert outcomes[2][0] == ApiCall.Outcome.REJECTED and 400 <= outcomes[2][1] < 500


def test_calls_carry_the_work_they_belong_to(sandbox, tenant):
    with api_log.context("order VOP-TEST-1"):
        VismaClient(tenant).get_customers(page_index=0, page_size=1)
    VismaClient(tenant).get_customers(page_index=0, page_size=1)
    contexts = list(ApiCall.objects.order_by("pk").values_list("context", flat=True))
    assert contexts == ["order VOP-TEST-1", "order VOP-TEST-1", ""]


def test_a_sync_logs_every_page_fetched_in_its_helper_thread(settings, sandbox, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 10
    started = sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False)
    result = sync.run_sync(started.pk)
    assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
    calls = ApiCall.objects.filter(context=f"customer sync {result.pk}", path="/api/v3/Customers")
    assert calls.count() == result.pages
    assert ApiCall.objects.filter(context=f"customer sync {result.pk}", kind="token").count() == 1


def test_no_secret_or_token_reaches_the_log_the_log_lines_audit_entries_or_mail(settings, sandbox, application, caplog):
    settings.ALERT_EMAILS = ["ops@example.com"]
    caplog.set_level(logging.DEBUG)
    sandbox.state.rotate_client_secret(CANARY)
    application.set_secret(CANARY)
    application.save()
    tenant = Tenant.objects.create(application=application, tenant_id=TENANT_FULL, name="Canary AS")
    token = VismaClient(tenant).token().access_token
    VismaClient(tenant).get_customers(page_index=0, page_size=5)
    application.set_secret(CANARY + "-wrong")
    application.save()
    tenant.refresh_from_db()
    with pytest.raises(TokenRejected):
        VismaClient(tenant).token()
    assert len(mail.outbox) == 1, "the failing token request opens an incident and mails once"

    rows = " ".join(str(row) for row in ApiCall.objects.values_list())
    audit = " ".join(str(row) for row in LogEntry.objects.values_list("changes", "changes_text", "serialized_data"))
    mails = " ".join(m.subject + m.body for m in mail.outbox)
    for text in (rows, caplog.text, audit, mails):
        assert CANARY not in text and token not in text
        assert "Bearer" not in text and application.encrypted_secret not in text


def test_prune_deletes_rows_older_than_api_log_days(settings, tenant):
    settings.API_LOG_DAYS = 30
    old = api_log.record(tenant_id=tenant.pk, kind="api", method="GET", path="/x", status=200, duration_ms=1)
    ApiCall.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(days=31))
    recent = api_log.record(tenant_id=tenant.pk, kind="api", method="GET", path="/y", status=200, duration_ms=1)
    assert api_log.prune_old_calls().startswith("1 ")
    assert list(ApiCall.objects.all()) == [recent]


def test_migrate_creates_the_daily_prune_schedule():
    schedule = Schedule.objects.get(name="api-log-prune")
    assert schedule.func == "tenants.api_log.prune_old_calls" and schedule.schedule_type == Schedule.DAILY


# --- the screen -----------------------------------------------------------------------------------------------------
def make_calls(tenant, n: int, **fields) -> None:
    for i in range(n):
        api_log.record(
            tenant_id=tenant.pk,
            kind=fields.get("kind", "api"),
            method="GET",
            path="/api/v3/Customers",
            status=fields.get("status", 200),
            duration_ms=10 + i,
            request_id=f"req-{i}",
        )


def test_viewers_see_the_list_in_a_fixed_number_of_queries(viewer_client, tenant, django_assert_max_num_queries):
    make_calls(tenant, 3)
    with django_assert_max_num_queries(12) as few:
        response = viewer_client.get(reverse("tenants:api-call-list"))
    assert response.status_code == 200 and response.content.decode().count("req-") == 3
    other = Tenant.objects.create(application=tenant.application, tenant_id=TENANT_FULL.replace("1", "3", 1), name="B")
    make_calls(other, 60)
    with django_assert_max_num_queries(12) as many:
        response = viewer_client.get(reverse("tenants:api-call-list"))
    assert len(few.captured_queries) == len(many.captured_queries)
    assert "API calls" in response.content.decode()  # the navigation link


def test_filters_by_tenant_status_class_context_and_time(viewer_client, tenant):
    other = Tenant.objects.create(application=tenant.application, tenant_id=TENANT_FULL.replace("1", "3", 1), name="B")
    make_calls(tenant, 2)
    make_calls(tenant, 1, status=429)
    make_calls(tenant, 1, status=503)
    make_calls(tenant, 1, status=None)
    make_calls(other, 4)
    with api_log.context("order VOP-1"):
        make_calls(other, 1, status=201)
    ApiCall.objects.filter(tenant=other, context="").update(started_at=timezone.now() - timedelta(days=3))

    def count(query: str) -> int:
        response = viewer_client.get(reverse("tenants:api-call-list") + "?" + query)
        assert response.status_code == 200
        return response.context["page"].paginator.count

    assert count("") == 10
    assert count(f"tenant={tenant.pk}") == 5
    assert count("status=2xx") == 7
    assert count("status=4xx") == 1
    assert count("status=5xx") == 1
    assert count("status=errors") == 1
    assert count("status=failures") == 3
    assert count("context=order+VOP-1") == 1
    assert count("period=day") == 6
    since = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert count(f"from={since}") == 6
    until = (timezone.localtime() - timedelta(days=1)).date().isoformat()
    assert count(f"to={until}") == 4
    assert count("from=not-a-date&status=bogus&tenant=abc") == 10


def test_sync_status_links_to_the_calls_of_that_sync(viewer_client, sandbox, tenant):
    started = sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False)
    sync.run_sync(started.pk)
    html = viewer_client.get(reverse("tenants:tenant-detail", args=[tenant.pk])).content.decode()
    assert f"{reverse('tenants:api-call-list')}?context=customer+sync+{started.pk}" in html
