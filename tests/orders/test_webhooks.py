"""Visma's webhooks as a doorbell: POST /webhooks/visma/<token>/ only makes a tenant's orders refresh sooner."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from core.access_log import ScrubbedLogger
from core.logging import LineFormatter, redact
from orders import tasks, webhooks
from orders.models import SalesOrder
from sandbox.seed import TENANT_FULL, TENANT_READ_ONLY
from tenants.models import ServiceApplication, Tenant
from tests.conftest import logged_in
from tests.orders.following import change_in_visma, followed_orders, list_calls

pytestmark = pytest.mark.django_db
State = SalesOrder.State


def url(application: ServiceApplication) -> str:
    return reverse("visma-webhook", args=[application.webhook_token])


def notify(client: Client, application, body=None, *, raw: bytes | None = None, **extra):
    data = raw if raw is not None else json.dumps(body if body is not None else {"tenantId": TENANT_FULL})
    return client.post(url(application), data=data, content_type="application/json", **extra)


def schedule_of(tenant) -> Schedule | None:
    return Schedule.objects.filter(name=f"order-refresh-tenant-{tenant.pk}").first()


def fire(schedule: Schedule) -> str:
    """What django-q2's scheduler does when the one-off schedule is due: run its task once."""
    Schedule.objects.filter(pk=schedule.pk).update(repeats=0)
    return tasks.refresh_tenant_orders(*eval(schedule.args))  # noqa: S307 - the schedule's own literal


@pytest.fixture
def other_tenant(application):
    return Tenant.objects.create(application=application, tenant_id=TENANT_READ_ONLY, name="Fjord AB", can_write=False)


def test_a_notification_is_taken_in_and_one_refresh_is_scheduled_after_the_debounce(sandbox, tenant, client):
    followed_orders(sandbox, tenant, 1)
    payload = {
        "id": str(uuid.uuid4()),
        "publisher": webhooks.PUBLISHER,
        "event": "SALESORDER_UPDATED",
        "tenantId": TENANT_FULL,
        "data": {"type": "SO", "orderId": "000001"},
    }
    response = notify(Client(), tenant.application, payload)
    assert response.status_code == 202 and response.content == b""
    tenant.refresh_from_db()
    assert tenant.last_webhook_at and tenant.orders_refresh_wanted_at
    schedule = schedule_of(tenant)
    assert schedule.func == "orders.tasks.refresh_tenant_orders" and schedule.repeats == 1
    assert timezone.now() < schedule.next_run <= timezone.now() + timedelta(seconds=5)
    assert list_calls(sandbox) == 0  # nothing is read before the debounce is over

    assert "1 read in 1 list call" in fire(schedule)
    tenant.refresh_from_db()
    assert tenant.orders_refresh_wanted_at is None and list_calls(sandbox) == 1


def test_a_storm_of_1000_notifications_for_one_tenant_makes_a_handful_of_list_calls(sandbox, tenant):
    orders = followed_orders(sandbox, tenant, 5)
    client = Client()
    answers = []
    for index in range(1000):
        if index == 500:  # halfway, the scheduler starts the refresh that was asked for
            fire(schedule_of(tenant))
            change_in_visma(sandbox, orders[0], status="Hold")
        answers.append(notify(client, tenant.application).status_code)
    fire(schedule_of(tenant))
    assert answers.count(202) + answers.count(429) == 1000 and answers.count(202) >= 120
    assert list_calls(sandbox, tenant) == 2
    assert SalesOrder.objects.get(pk=orders[0].pk).visma_status == "Hold"


def test_the_sandbox_delivering_duplicated_reordered_notifications_makes_one_refresh(
    sandbox, tenant, live_server, settings
):
    settings.VISMA_WEBHOOK_DEBOUNCE_SECONDS = 30
    orders = followed_orders(sandbox, tenant, 3)
    sandbox.state.webhooks.configure(
        {"url": live_server.url + url(tenant.application), "duplicates": 3, "reorder": True, "delay": 0.2}
    )
    for order in orders:
        change_in_visma(sandbox, order, status="Hold")
    deliveries = wait_for_deliveries(sandbox, 12)
    assert [delivery.get("status") for delivery in deliveries] == [202] * 12, deliveries
    assert list_calls(sandbox) == 0
    fire(schedule_of(tenant))
    assert list_calls(sandbox) == 1
    assert {order.visma_status for order in SalesOrder.objects.all()} == {"Hold"}


def wait_for_deliveries(sandbox, count: int) -> list[dict]:
    from tests.ordering import wait_for

    assert wait_for(lambda: len(sandbox.state.webhooks.deliveries()) >= count, seconds=20)
    return sandbox.state.webhooks.deliveries()


def test_an_unknown_token_is_a_404_also_for_a_deactivated_application(tenant):
    client = Client()
    assert client.post("/webhooks/visma/not-a-token-at-all-0123456789/", data="{}", content_type="x").status_code == 404
    assert client.post("/webhooks/visma/x/", data="{}", content_type="application/json").status_code == 404
    ServiceApplication.objects.filter(pk=tenant.application_id).update(active=False)
    assert notify(client, tenant.application).status_code == 404
    tenant.refresh_from_db()
    assert tenant.last_webhook_at is None


def test_get_is_not_allowed(tenant):
    assert Client().get(url(tenant.application)).status_code == 405


def test_a_body_over_64_kb_is_refused_without_being_read(tenant):
    big = json.dumps({"tenantId": TENANT_FULL, "padding": "x" * (65 * 1024)})
    response = notify(Client(), tenant.application, raw=big.encode())
    assert response.status_code == 413
    declared = Exploding()
    declared.META = {"CONTENT_LENGTH": str(65 * 1024), "wsgi.input": Exploding()}
    assert webhooks.read_body(declared) is None  # refused on the declared length alone
    endless = SimpleNamespace(read=lambda size: b"x" * size)
    chunked = SimpleNamespace(META={"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": endless}, read=None)
    assert webhooks.read_body(chunked) is None  # no length declared: read one byte past the limit, and refused
    tenant.refresh_from_db()
    assert tenant.last_webhook_at is None


class Exploding:
    def read(self, size=None):
        raise AssertionError("the body was read")


@pytest.mark.parametrize(
    "raw",
    [b"", b"tenantId=3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", b"42", b'"text"', b"{", b"[" * 60000, b"\xff\xfe"],
)
def test_a_body_that_is_not_a_json_object_or_array_is_a_400(tenant, raw):
    assert notify(Client(), tenant.application, raw=raw).status_code == 400


def test_the_tenant_is_looked_for_at_any_depth_under_any_spelling_and_never_trusted(
    sandbox, tenant, other_tenant, application
):
    followed_orders(sandbox, tenant, 1)
    followed_orders(sandbox, other_tenant, 1)
    stranger = ServiceApplication.objects.create(name="Other", client_id="other-app")
    foreign = Tenant.objects.create(application=stranger, tenant_id=uuid.uuid4(), name="Not ours")
    body = [{"data": {"context": {"TenantId": f"{{{TENANT_READ_ONLY.upper()}}}", "tenant_id": str(foreign.tenant_id)}}}]
    assert notify(Client(), application, body).status_code == 202
    assert schedule_of(other_tenant) and not schedule_of(tenant) and not schedule_of(foreign)
    assert webhooks.tenant_ids({"a": [{"tenant-id": TENANT_FULL}], "tenantId": "not a uuid", "TENANTID": 7}) == {
        uuid.UUID(TENANT_FULL)
    }


def test_no_known_tenant_refreshes_every_tenant_of_the_application_with_orders_to_follow(
    sandbox, tenant, other_tenant, application
):
    followed_orders(sandbox, tenant, 1)
    for body in ({"event": "SALESORDER_CREATED"}, {"tenantId": str(uuid.uuid4())}):
        Schedule.objects.all().delete()
        Tenant.objects.update(orders_refresh_wanted_at=None)
        assert notify(Client(), application, body).status_code == 202
        assert schedule_of(tenant) and not schedule_of(other_tenant)  # the other one has nothing to follow
    assert Tenant.objects.filter(last_webhook_at__isnull=False).count() == 2


def test_more_than_the_limit_a_minute_is_a_429_with_retry_after_per_tenant(
    sandbox, tenant, other_tenant, application, settings
):
    settings.VISMA_WEBHOOK_PER_MINUTE = 3
    client = Client()
    assert [notify(client, application).status_code for _ in range(3)] == [202] * 3
    refused = notify(client, application)
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    other = notify(client, application, {"tenantId": TENANT_READ_ONLY})
    assert other.status_code == 202


def test_many_notifications_schedule_one_run_until_it_starts(sandbox, tenant, application):
    followed_orders(sandbox, tenant, 1)
    for _ in range(5):
        notify(Client(), application)
    assert Schedule.objects.filter(name__startswith="order-refresh-tenant-").count() == 1
    first = schedule_of(tenant).next_run
    notify(Client(), application)
    assert schedule_of(tenant).next_run == first  # not pushed back by every notification


def test_a_debounce_of_zero_starts_the_refresh_at_once(
    sandbox, tenant, application, settings, django_capture_on_commit_callbacks
):
    settings.VISMA_WEBHOOK_DEBOUNCE_SECONDS = 0
    followed_orders(sandbox, tenant, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert notify(Client(), application).status_code == 202  # tasks run in the test's process
    assert list_calls(sandbox, tenant) == 1 and schedule_of(tenant) is None


def test_a_wish_whose_run_was_lost_is_wished_again_after_a_while(sandbox, tenant, application):
    followed_orders(sandbox, tenant, 1)
    Tenant.objects.filter(pk=tenant.pk).update(orders_refresh_wanted_at=timezone.now() - timedelta(hours=1))
    notify(Client(), application)
    assert schedule_of(tenant) is not None


def test_rotating_makes_the_old_url_a_404_and_is_audited_without_the_token(tenant, admin_client_, clerk_client):
    application = tenant.application
    old = url(application)
    rotate = reverse("tenants:application-rotate-webhook", args=[application.pk])
    assert clerk_client.post(rotate).status_code == 403
    response = admin_client_.post(rotate, {"tenant": tenant.pk})
    assert response.status_code == 302 and response["Location"] == reverse("tenants:tenant-detail", args=[tenant.pk])
    application.refresh_from_db()
    assert url(application) != old and application.webhook_token_rotated_at
    client = Client()
    assert client.post(old, data="{}", content_type="application/json").status_code == 404
    assert notify(client, application).status_code == 202
    entry = LogEntry.objects.get_for_object(application).latest("timestamp")
    assert application.webhook_token not in json.dumps(entry.changes) and "secret changed" in json.dumps(entry.changes)
    assert admin_client_.post(rotate).url == reverse("tenants:application-detail", args=[application.pk])


def test_the_tenant_page_shows_the_url_publisher_events_and_last_notification(
    tenant, viewer_client, admin_client_, settings
):
    settings.PORTAL_URL = "https://orders.example.com/"
    Tenant.objects.filter(pk=tenant.pk).update(last_webhook_at=timezone.now() - timedelta(minutes=3))
    page = admin_client_.get(reverse("tenants:tenant-detail", args=[tenant.pk])).content.decode()
    full = f"https://orders.example.com/webhooks/visma/{tenant.application.webhook_token}/"
    assert f"data-webhook-url>{full}</code>" in page and "data-webhook-https" not in page
    assert "visma.net.erp.salesorderservice" in page and "SALESORDER_CREATED" in page and "SALESORDER_UPDATED" in page
    assert "3\xa0minutes ago" in page and "Rotate URL" in page
    viewer_page = viewer_client.get(reverse("tenants:tenant-detail", args=[tenant.pk])).content.decode()
    assert full not in viewer_page and "SALESORDER_CREATED" in viewer_page and "Rotate URL" not in viewer_page
    app_page = admin_client_.get(reverse("tenants:application-detail", args=[tenant.application.pk])).content.decode()
    assert full in app_page and "Rotate URL" in app_page


def test_without_portal_url_the_url_is_the_request_s_and_plain_http_is_flagged(tenant, admin_client_, settings):
    settings.PORTAL_URL = ""
    page = admin_client_.get(reverse("tenants:tenant-detail", args=[tenant.pk])).content.decode()
    assert f"http://testserver/webhooks/visma/{tenant.application.webhook_token}/" in page
    assert "data-webhook-https" in page


def test_only_users_who_may_view_the_application_see_the_token(tenant, django_user_model):
    user = django_user_model.objects.create_user("tilda-tenants", password="pw-123456789")
    user.user_permissions.add(Permission.objects.get(codename="view_tenant"))
    page = logged_in(user).get(reverse("tenants:tenant-detail", args=[tenant.pk])).content.decode()
    assert "Webhooks from Visma" in page and tenant.application.webhook_token not in page


def test_the_token_never_reaches_a_log(tenant, caplog):
    token = tenant.application.webhook_token
    line = f'"POST /webhooks/visma/{token}/ HTTP/1.1" 202 0'
    assert token not in redact(line) and "/webhooks/visma/[redacted]/" in redact(line)
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", (f"/webhooks/visma/{token}/",), None
    )
    assert token not in LineFormatter("%(message)s").format(record)

    class Config:
        access_log_format = "%(r)s %(s)s"

    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/webhooks/visma/{token}/",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": f"/webhooks/visma/{token}/",
        "QUERY_STRING": "",
    }
    logger = ScrubbedLogger.__new__(ScrubbedLogger)
    logger.cfg = Config()
    response = SimpleNamespace(status="202 Accepted", sent=0, headers=[])
    request = SimpleNamespace(headers=[])
    atoms = logger.atoms(response, request, environ, timedelta(seconds=0.01))
    assert token not in json.dumps(atoms, default=str)

    with caplog.at_level(logging.INFO):
        notify(Client(), tenant.application)
    assert token not in caplog.text and "Visma webhook for application" in caplog.text
