"""E-mail to ALERT_EMAILS once per incident: an order failing for good, token requests failing, a sync failing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from orders import services
from orders.models import SalesOrder, SalesOrderLine
from sandbox.seed import TENANT_NOT_APPROVED
from tenants import sync
from tenants.models import Customer, CustomerSync, Incident, Tenant
from tenants.visma import TokenRejected, VismaClient

pytestmark = pytest.mark.django_db
POST = {"method": "POST", "path": "/api/v3/SalesOrders"}


@pytest.fixture(autouse=True)
def alert_emails(settings):
    settings.ALERT_EMAILS = ["ops@example.com", "oncall@example.com"]
    settings.PORTAL_URL = "https://portal.example.com"


@pytest.fixture
def order(tenant, order_clerk):
    customer = Customer.objects.create(tenant=tenant, number="10000", name="Kunde", status="Active")
    order = SalesOrder.objects.create(tenant=tenant, customer=customer, created_by=order_clerk)
    SalesOrderLine.objects.create(order=order, position=1, inventory_id="NO-SUCH-ITEM", quantity=Decimal(1))
    return order


def send(order) -> SalesOrder:
    assert services.queue(order)
    services.submit(order.pk)
    order.refresh_from_db()
    return order


def test_an_order_that_fails_for_good_mails_once(sandbox, order):
    order = send(order)
    assert order.state == SalesOrder.State.FAILED
    [message] = mail.outbox
    assert message.to == ["ops@example.com", "oncall@example.com"]
    assert order.reference in message.subject
    assert f"https://portal.example.com/orders/{order.pk}/" in message.body
    services._fail(order, services.VismaError("reported twice"))  # a late report of an order already failed
    assert len(mail.outbox) == 1
    assert Incident.objects.get(key=f"order:{order.pk}").failures == 1  # changes nothing: only a sending order fails


def test_an_order_sent_again_that_fails_again_is_a_new_incident(sandbox, order):
    send(order)
    send(order)
    assert len(mail.outbox) == 2
    assert Incident.objects.filter(key=f"order:{order.pk}", closed_at__isnull=True).count() == 1


def test_retries_before_giving_up_send_nothing(settings, sandbox, order):
    settings.ORDER_MAX_ATTEMPTS = 3
    settings.ORDER_RESEND_AFTER_SECONDS = 0  # each 500 is looked up, then sent again at once
    SalesOrderLine.objects.filter(order=order).update(inventory_id="STOCK-100")
    sandbox.state.set_faults([{**POST, "kind": "500"}])
    order = send(order)
    for _ in range(2):
        assert order.state == SalesOrder.State.QUEUED and mail.outbox == []
        SalesOrder.objects.filter(pk=order.pk).update(next_attempt_at=None)
        services.submit(order.pk)
        order.refresh_from_db()
    assert order.state == SalesOrder.State.FAILED
    assert len(mail.outbox) == 1


def test_failing_token_requests_mail_once_until_a_token_is_granted_again(sandbox, application):
    tenant = Tenant.objects.create(application=application, tenant_id=TENANT_NOT_APPROVED, name="Not approved AS")
    for _ in range(3):
        with pytest.raises(TokenRejected):
            VismaClient(tenant).token()
    [message] = mail.outbox
    assert "Not approved AS" in message.subject and "invalid_tenant" in message.body
    incident = Incident.objects.get(key=f"token:{tenant.pk}")
    assert incident.failures == 3 and incident.is_open

    Tenant.objects.filter(pk=tenant.pk).update(tenant_id=sandbox_full_tenant())
    tenant.refresh_from_db()
    VismaClient(tenant).token()
    incident.refresh_from_db()
    assert not incident.is_open

    Tenant.objects.filter(pk=tenant.pk).update(tenant_id=TENANT_NOT_APPROVED)
    tenant.refresh_from_db()
    with pytest.raises(TokenRejected):
        VismaClient(tenant).token()
    assert len(mail.outbox) == 2


def sandbox_full_tenant() -> str:
    from sandbox.seed import TENANT_FULL

    return TENANT_FULL


def test_a_failing_customer_sync_mails_once_and_recovers(sandbox, tenant):
    sandbox.state.set_faults([{"method": "GET", "path": "/api/v3/Customers", "kind": "500"}])
    for _ in range(2):
        run = sync.run_sync(sync.start_sync(tenant, trigger=CustomerSync.Trigger.SCHEDULE, enqueue=False).pk)
        assert run.outcome == CustomerSync.Outcome.FAILED
    [message] = mail.outbox
    assert "Customer sync" in message.subject and tenant.name in message.subject
    sandbox.state.set_faults([])
    run = sync.run_sync(sync.start_sync(tenant, trigger=CustomerSync.Trigger.SCHEDULE, enqueue=False).pk)
    assert run.outcome == CustomerSync.Outcome.SUCCEEDED
    assert not Incident.objects.filter(key=f"sync:{tenant.pk}", closed_at__isnull=True).exists()


def test_without_alert_emails_the_incident_is_still_recorded(settings, sandbox, order):
    settings.ALERT_EMAILS = []
    send(order)
    assert mail.outbox == []
    assert Incident.objects.get(key=f"order:{order.pk}").mailed_to == ""


def test_dashboard_lists_open_incidents_linking_to_their_fix(viewer_client, sandbox, order):
    send(order)
    html = viewer_client.get("/").content.decode()
    assert "Needs someone" in html and order.reference in html and f'href="/orders/{order.pk}/"' in html
