"""Exactly once against a Visma stricter than the portal expects: TLS, late commits, clock skew, outages, slow
answers. Every test talks to the sandbox over real HTTP(S) on loopback."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from orders import services
from orders.models import SalesOrder
from sandbox.seed import TENANT_FULL
from tenants.api_log import ApiCall
from tenants.models import Customer, ServiceApplication, Tenant
from tenants.notifications import Incident
from tenants.visma import OutcomeUnknown, VismaClient, VismaError, VismaUnavailable
from tests.conftest import SANDBOX_SECRET
from tests.ordering import make_due, make_order, posts, wait_for

pytestmark = pytest.mark.django_db
State = SalesOrder.State
POST = {"method": "POST", "path": "/api/v3/SalesOrders"}


@pytest.fixture
def tls_tenant(sandbox_tls, settings):
    settings.VISMA_CA_BUNDLE = sandbox_tls.ca_path
    application = ServiceApplication(
        name="Portal (TLS sandbox)",
        client_id="portal-demo-app",
        token_url=sandbox_tls.token_url,
        api_url=sandbox_tls.api_url,
    )
    application.set_secret(SANDBOX_SECRET)
    application.save()
    return Tenant.objects.create(application=application, tenant_id=TENANT_FULL, name="Nordlys Handel AS")


def send(order) -> SalesOrder:
    assert services.queue(order)
    services.submit(order.pk)
    order.refresh_from_db()
    return order


# 1. The transport sends a POST once per attempt, also when TLS breaks while the answer is read.
def test_tls_garbage_after_a_post_is_one_post_and_the_order_is_found(sandbox_tls, tls_tenant):
    sandbox_tls.state.set_faults([{**POST, "kind": "tls_garbage", "times": 3}])
    order = make_order(tls_tenant)
    with pytest.raises(OutcomeUnknown):
        VismaClient(tls_tenant).create_sales_order({"type": "SO", "customer": {"id": "10000"}})
    assert posts(sandbox_tls) == 1 and len(sandbox_tls.state.orders()) == 1

    order = send(order)
    assert order.state == State.SUBMITTED
    assert len(sandbox_tls.state.orders()) == 2 and posts(sandbox_tls) == 2  # one each: nothing sent twice


def test_tls_verification_stays_on(sandbox_tls, tls_tenant, settings):
    settings.VISMA_CA_BUNDLE = ""
    with pytest.raises(VismaUnavailable, match="secure connection"):
        VismaClient(tls_tenant).token()


# 2. After a lost answer the order is only looked up until its POST is ORDER_RESEND_AFTER_SECONDS old.
def test_an_order_visma_commits_late_is_looked_up_not_sent_again(sandbox, tenant, settings):
    settings.ORDER_RESEND_AFTER_SECONDS = 600
    # Visma commits 3 s after the lost answer: room for the three lookups below on a machine busy with other workers.
    sandbox.state.set_faults([{**POST, "kind": "commit_after", "delay": 3.0, "times": 1}])
    order = send(make_order(tenant))
    assert order.state == State.SUBMITTING and "not sent again before" in order.last_error
    for _ in range(3):  # however often the worker or the sweeper comes back before the commit
        make_due(order)
        services.sweep()
        order.refresh_from_db()
        assert order.state == State.SUBMITTING and posts(sandbox) == 1
    assert wait_for(lambda: sandbox.state.orders())
    make_due(order)
    services.sweep()
    order.refresh_from_db()
    assert order.state == State.SUBMITTED and len(sandbox.state.orders()) == 1 and posts(sandbox) == 1


def test_cancel_waits_out_the_resend_window(sandbox, tenant, settings, order_clerk):
    settings.ORDER_RESEND_AFTER_SECONDS = 600
    settings.ORDER_MAX_ATTEMPTS = 1
    sandbox.state.set_faults([{**POST, "kind": "reset", "times": 1}])
    order = send(make_order(tenant))
    SalesOrder.objects.filter(pk=order.pk).update(state=State.FAILED)  # e.g. given up, staff now want it gone
    order.refresh_from_db()
    cancelled, message = services.cancel(order, order_clerk)
    assert not cancelled and "can be cancelled from" in message
    settings.ORDER_RESEND_AFTER_SECONDS = 0
    assert services.cancel(order, order_clerk) == (True, "")


def test_after_the_resend_window_a_lost_post_is_sent_again_once(sandbox, tenant, settings):
    settings.ORDER_RESEND_AFTER_SECONDS = 1
    sandbox.state.set_faults([{**POST, "kind": "reset", "times": 1}])  # nothing created
    order = send(make_order(tenant))
    assert order.state == State.SUBMITTING
    time.sleep(1.1)
    make_due(order)
    services.sweep()  # looked up, not found, window over: queued to be sent again
    make_due(order)
    services.submit(order.pk)
    order.refresh_from_db()
    assert order.state == State.SUBMITTED and len(sandbox.state.orders()) == 1 and posts(sandbox) == 2


# 3. The lookup searches under every customer a POST went out for.
def test_lookup_searches_the_customer_the_post_was_sent_for(sandbox, tenant, settings):
    settings.ORDER_RESEND_AFTER_SECONDS = 600
    sandbox.state.set_faults([{**POST, "kind": "commit_after", "delay": 0.5, "times": 1}])
    order = send(make_order(tenant, "10000"))
    other = Customer.objects.create(tenant=tenant, number="10001", name="Kunde 1", status="Active")
    SalesOrder.objects.filter(pk=order.pk).update(customer=other)  # changed behind the form (admin, import)
    assert wait_for(lambda: sandbox.state.orders())
    make_due(order)
    services.sweep()
    order.refresh_from_db()
    assert order.state == State.SUBMITTED and posts(sandbox) == 1


# 4. Visma's clock, not ours, decides what "modified since" means.
def test_lookup_finds_the_order_when_the_portal_clock_runs_ahead(sandbox, tenant):
    sandbox.state.clock_offset = -15 * 60  # Visma is a quarter of an hour behind the portal
    sandbox.state.set_faults([{**POST, "kind": "accept_then_drop", "times": 1}])
    order = send(make_order(tenant))
    assert order.state == State.SUBMITTED and posts(sandbox) == 1


# 6. An outage pauses the tenant's sending instead of using up attempts; one incident, one e-mail each way.
def test_an_outage_longer_than_every_backoff_loses_nothing_and_mails_twice(sandbox, tenant, settings, admin_client_):
    settings.ALERT_EMAILS = ["ops@example.com"]
    settings.ORDER_MAX_ATTEMPTS = 2
    orders = [make_order(tenant) for _ in range(4)]
    VismaClient(tenant).token()  # a token in hand: the outage hits the orders, not the token request
    sandbox.pause()
    try:
        for order in orders:
            assert services.queue(order)
        for turn in range(settings.ORDER_MAX_ATTEMPTS + 4):  # more rounds than attempts and backoffs allow
            if turn % 3 == 2:  # now and then the next probe is due: one order tries, the others wait
                Tenant.objects.filter(pk=tenant.pk).update(unreachable_probe_at=timezone.now())
            for order in orders:
                make_due(order)
                services.submit(order.pk)
        for order in orders:
            order.refresh_from_db()
            assert order.state == State.QUEUED and order.attempts == 0
            assert order.last_error.startswith("Visma unreachable since")
        tenant.refresh_from_db()
        assert tenant.unreachable_since is not None
        assert Incident.objects.filter(kind=Incident.Kind.UNREACHABLE).count() == 1
        assert len(mail.outbox) == 1
        assert "Visma unreachable since" in admin_client_.get("/").content.decode()
    finally:
        sandbox.resume()
    Tenant.objects.filter(pk=tenant.pk).update(unreachable_probe_at=timezone.now())
    for order in orders:
        make_due(order)
        services.submit(order.pk)
    assert sorted(SalesOrder.objects.values_list("state", flat=True)) == [State.SUBMITTED] * 4
    assert len(sandbox.state.orders()) == 4 and posts(sandbox) == 4
    assert not Incident.objects.filter(kind=Incident.Kind.UNREACHABLE, closed_at__isnull=True).exists()
    assert len(mail.outbox) == 2 and "reachable again" in mail.outbox[1].subject


# 8. Visma's own request id header is the one shown: apigw-requestid, then X-Request-Id, then the problem body.
def test_the_gateway_request_id_is_recorded(sandbox, tenant):
    order = send(make_order(tenant))
    created = order.attempts_log.get(kind="post")
    call = ApiCall.objects.get(method="POST", path="/api/v3/SalesOrders")
    assert created.request_id and call.request_id == created.request_id


def test_a_problem_bodys_trace_id_stands_in_for_a_missing_header(application, tenant):
    from tests.listener import Listener

    with Listener(status=400, body={"title": "Bad", "traceId": "00-4bf92f3577b34da6-01"}) as visma:
        application.api_url = visma.url
        application.set_secret(SANDBOX_SECRET)
        application.save()
        tenant.refresh_from_db()
        cache_token(tenant)
        with pytest.raises(VismaError) as caught:
            VismaClient(tenant).get_customers(0, 100)
    assert caught.value.request_id == "00-4bf92f3577b34da6-01"


def cache_token(tenant) -> None:
    """A token in the cache, so the call goes straight to the API under test."""
    from django.core.cache import cache

    from tenants.visma import TokenInfo

    client = VismaClient(tenant)
    cache.set(client._cache_key, TokenInfo("test-token", time.time() + 600, "visma.net.erp.salesorder:read"), 600)


# 9. No call can hang on an answer that trickles in.
def test_a_slow_drip_answer_is_cut_at_the_deadline(sandbox, tenant, settings):
    settings.VISMA_CALL_DEADLINE_SECONDS = 0.5
    sandbox.state.set_faults([{"method": "GET", "path": "/api/v3/Customers", "kind": "slow_drip", "delay": 0.2}])
    client = VismaClient(tenant)
    client.token()
    with pytest.raises(VismaUnavailable, match="did not finish answering within"):
        client.get_customers(0, 100)


def test_a_slow_drip_answer_to_a_post_is_an_unknown_outcome(sandbox, tenant, settings):
    settings.VISMA_CALL_DEADLINE_SECONDS = 0.5
    settings.ORDER_RESEND_AFTER_SECONDS = 600
    sandbox.state.set_faults([{**POST, "kind": "slow_drip", "delay": 0.2, "times": 1}])
    order = send(make_order(tenant))
    assert order.state == State.SUBMITTED and posts(sandbox) == 1  # looked up and found after the cut


def test_the_sweeper_leaves_a_paused_tenants_orders_for_the_next_probe(sandbox, tenant):
    order = make_order(tenant)
    long_ago = timezone.now() - timedelta(hours=1)
    SalesOrder.objects.filter(pk=order.pk).update(state=State.SUBMITTING, attempt_started_at=long_ago)
    Tenant.objects.filter(pk=tenant.pk).update(
        unreachable_since=long_ago, unreachable_probe_at=timezone.now() + timedelta(minutes=1)
    )
    services.sweep()
    assert not [r for r in sandbox.state.request_log() if r["path"] == "/api/v3/SalesOrders"]
    order.refresh_from_db()
    assert order.state == State.SUBMITTING and order.next_attempt_at is None  # not claimed: looked at after the probe
