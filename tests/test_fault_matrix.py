"""Every sandbox fault against every Visma endpoint the portal calls, over real HTTP: the outcome, and nothing lost.

Endpoints: the token endpoint (`VismaClient.token`), `GET /api/v3/Customers` (the customer sync service) and
`POST /api/v3/SalesOrders` (queue -> django-q2 task in sync mode -> submit). After each fault the sandbox is healed
and the same work is done again, to show that nothing was lost and nothing was done twice.
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from orders import payload, services
from orders.models import SalesOrder, SalesOrderLine
from sandbox.state import FAULT_KINDS
from tenants import sync
from tenants.customer_models import Customer, CustomerSync
from tenants.models import Tenant
from tenants.visma import RateLimited, VismaClient, VismaUnavailable, forget_process_state
from tests.conftest import SANDBOX_SECRET, logged_in

pytestmark = pytest.mark.django_db

TOKEN = {"method": "POST", "path": "/connect/token"}
CUSTOMERS = {"method": "GET", "path": "/api/v3/Customers"}
ORDERS = {"method": "POST", "path": "/api/v3/SalesOrders"}
READ_TIMEOUT = 0.5
SLOW = {"kind": "slow", "delay": 1.5}  # three times the read timeout the tests set
State = SalesOrder.State
Outcome = CustomerSync.Outcome


@pytest.fixture(autouse=True)
def short_timeouts(settings):
    settings.VISMA_READ_TIMEOUT = READ_TIMEOUT
    settings.VISMA_CONNECT_TIMEOUT = 1.0


def fault(endpoint: dict, kind: str, **extra) -> dict:
    spec = SLOW if kind == "slow" else {"kind": kind}
    return {**endpoint, **spec, **extra}


def requests_to(sandbox, path: str) -> list[dict]:
    return [entry for entry in sandbox.state.request_log() if entry["path"] == path]


def wait_for(condition, seconds: float = 5.0) -> None:
    """Waits for the sandbox to finish work it does after the client gave up (a slow request still running)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the sandbox never finished"
        time.sleep(0.05)


# --- token endpoint -----------------------------------------------------------------------------------------------
# `expired_token` is left out: the token endpoint takes no bearer token, so an "expired token" cannot happen there.
TOKEN_CASES = [
    # kind, how often, token obtained?, error text, POSTs to /connect/token
    ("500", 1, True, "", 2),
    ("503", 1, True, "", 2),
    ("500", None, False, "answered HTTP 500 without a token", 3),
    ("503", None, False, "answered HTTP 503 without a token", 3),
    ("429", 1, False, "limiting token requests", 1),
    ("slow", 1, False, "Could not get a token from Visma Connect", 1),
    ("reset", 1, False, "Could not get a token from Visma Connect", 1),
    ("malformed_json", 1, False, "answered HTTP 200 without a token", 1),
    ("accept_then_drop", 1, False, "Could not get a token from Visma Connect", 1),
]


@pytest.mark.parametrize(("kind", "times", "obtained", "error", "posts"), TOKEN_CASES)
def test_token_endpoint_fault(sandbox, tenant, kind, times, obtained, error, posts):
    sandbox.state.set_faults([fault(TOKEN, kind, times=times)])
    client = VismaClient(tenant)

    if obtained:
        assert client.token().access_token
    else:
        with pytest.raises((VismaUnavailable, RateLimited)) as caught:
            client.token()
        assert error in str(caught.value)
    if kind == "slow":
        wait_for(lambda: len([r for r in requests_to(sandbox, "/connect/token") if r["status"]]) == 1)

    tenant.refresh_from_db()
    assert len(requests_to(sandbox, "/connect/token")) == posts
    if obtained:
        assert (tenant.token_failures, tenant.last_token_error) == (0, "")
        assert tenant.last_token_at is not None
    else:
        assert tenant.token_failures == 1 and error in tenant.last_token_error
        assert tenant.last_token_at is None
        assert SANDBOX_SECRET not in tenant.last_token_error

    sandbox.state.set_faults([])
    assert VismaClient(tenant).token().access_token
    tenant.refresh_from_db()
    assert tenant.token_failures == 0 and tenant.last_token_at is not None


def test_token_failures_count_up_until_a_token_is_granted(sandbox, tenant):
    sandbox.state.set_faults([fault(TOKEN, "reset", times=3)])
    for failures in (1, 2, 3):
        with pytest.raises(VismaUnavailable):
            VismaClient(tenant).token()
        assert Tenant.objects.get(pk=tenant.pk).token_failures == failures
    VismaClient(tenant).token()
    assert Tenant.objects.get(pk=tenant.pk).token_failures == 0


# --- customers ----------------------------------------------------------------------------------------------------
PAGE_SIZE = 10
ONCE_ON_PAGE_2 = [False, True]
FROM_PAGE_2_ON = [False] + [True] * 30
CUSTOMER_CASES = [
    # kind, fault sequence, outcome, error text (failed runs)
    ("500", ONCE_ON_PAGE_2, Outcome.FAILED, "Visma answered HTTP 500"),
    ("503", ONCE_ON_PAGE_2, Outcome.SUCCEEDED, ""),  # GETs are retried on 502/503/504
    ("503", FROM_PAGE_2_ON, Outcome.FAILED, "Visma answered HTTP 503"),
    ("429", ONCE_ON_PAGE_2, Outcome.SUCCEEDED, ""),  # waits out Retry-After, then goes on
    ("429", FROM_PAGE_2_ON, Outcome.FAILED, "rate limit is used up"),
    ("slow", ONCE_ON_PAGE_2, Outcome.SUCCEEDED, ""),  # a read timeout on a GET is retried
    ("slow", FROM_PAGE_2_ON, Outcome.FAILED, "did not answer in time"),
    ("reset", ONCE_ON_PAGE_2, Outcome.SUCCEEDED, ""),
    ("reset", FROM_PAGE_2_ON, Outcome.FAILED, "closed the connection without answering"),
    ("malformed_json", ONCE_ON_PAGE_2, Outcome.FAILED, "a body that is not JSON"),
    ("expired_token", ONCE_ON_PAGE_2, Outcome.SUCCEEDED, ""),  # one new token, the page again
    ("expired_token", FROM_PAGE_2_ON, Outcome.FAILED, "refused the access token twice"),
    ("accept_then_drop", ONCE_ON_PAGE_2, Outcome.SUCCEEDED, ""),
    ("accept_then_drop", FROM_PAGE_2_ON, Outcome.FAILED, "closed the connection without answering"),
]


def run_sync(tenant, waits: list[float] | None = None) -> CustomerSync:
    started = sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False)
    return sync.run_sync(started.pk, sleep=(waits if waits is not None else []).append)


@pytest.mark.parametrize(("kind", "sequence", "outcome", "error"), CUSTOMER_CASES)
def test_customer_sync_fault(settings, sandbox, tenant, kind, sequence, outcome, error):
    settings.CUSTOMER_SYNC_PAGE_SIZE = PAGE_SIZE
    expected = {c["id"] for c in sandbox.state.customers(str(tenant.tenant_id))}
    assert run_sync(tenant).outcome == Outcome.SUCCEEDED
    sandbox.state.set_faults([fault(CUSTOMERS, kind, sequence=list(sequence))])
    waits: list[float] = []

    result = run_sync(tenant, waits)

    if kind == "slow":
        time.sleep(SLOW["delay"])  # let the sandbox's delayed handlers finish before the next test resets it
    assert result.outcome == outcome, result.error
    kept = Customer.objects.filter(tenant=tenant, removed_at__isnull=True)
    assert set(kept.values_list("number", flat=True)) == expected, "a customer was lost or marked removed"
    assert result.removed == 0
    if outcome == Outcome.SUCCEEDED:
        assert result.fetched == len(expected) and result.error == ""
    else:
        assert error in result.error
        # The fault hits page 2 (on a loaded machine a delayed retry can move it one page on): the run says where.
        stopped_at = result.fetched // PAGE_SIZE + 1
        assert f"Stopped at page {stopped_at} after {result.fetched} customers" in result.error
        assert "no customer was marked as removed" in result.error
        assert result.fetched in (PAGE_SIZE, 2 * PAGE_SIZE)
    if kind == "429":
        assert waits and all(wait == 1 for wait in waits)

    sandbox.state.set_faults([])
    healed = run_sync(tenant)
    assert healed.outcome == Outcome.SUCCEEDED and healed.fetched == len(expected)
    assert Customer.objects.filter(tenant=tenant).count() == len(expected)


def test_customer_sync_stops_on_a_retry_after_longer_than_it_may_wait(settings, sandbox, tenant):
    settings.CUSTOMER_SYNC_MAX_WAIT = 10
    sandbox.state.set_faults([fault(CUSTOMERS, "429", times=1, retry_after=3600)])
    waits: list[float] = []
    result = run_sync(tenant, waits)
    assert result.outcome == Outcome.FAILED and "retry after 3600 s" in result.error
    assert waits == []


# --- sales orders -------------------------------------------------------------------------------------------------
ORDER_CASES = [
    # kind, how often, state after the first try, attempts, sandbox orders, attempt log
    ("500", 1, State.QUEUED, 1, 0, ["unknown", "not found"]),
    ("503", 1, State.QUEUED, 1, 0, ["unknown", "not found"]),
    ("429", 1, State.QUEUED, 0, 0, ["rate limited"]),
    ("reset", 1, State.QUEUED, 1, 0, ["unknown", "not found"]),
    ("malformed_json", 1, State.QUEUED, 1, 0, ["unknown", "not found"]),
    ("expired_token", 1, State.SUBMITTED, 1, 1, ["created"]),
    ("expired_token", None, State.FAILED, 1, 0, ["rejected"]),
    ("accept_then_drop", 1, State.SUBMITTED, 1, 1, ["unknown", "found"]),
]


@pytest.fixture
def order(sandbox, tenant, order_clerk, settings):
    # These cases follow a lost answer past the resend window; the window itself is tested in test_exactly_once_strict.
    settings.ORDER_RESEND_AFTER_SECONDS = 0
    dto = next(c for c in sandbox.state.customers(str(tenant.tenant_id)) if c["status"] == "Active")
    customer = Customer.objects.create(tenant=tenant, number=dto["id"], name=dto["name"], status="Active")
    order = SalesOrder.objects.create(
        tenant=tenant, customer=customer, customer_order="PO-FAULT", created_by=order_clerk
    )
    lines = [("STOCK-100", "2", "101.25"), ("SERV-100", "1.5", None), ("FREIGHT", "1", "49")]
    for position, (item, quantity, price) in enumerate(lines, 1):
        SalesOrderLine.objects.create(
            order=order,
            position=position,
            inventory_id=item,
            quantity=Decimal(quantity),
            unit_price=Decimal(price) if price else None,
        )
    return order


def submit_through_the_queue(order, capture) -> SalesOrder:
    with capture(execute=True):
        assert services.queue(order)
    order.refresh_from_db()
    return order


def retry_when_due(order, capture) -> SalesOrder:
    """What the sweeper does once the backoff has passed: enqueue due orders (the task runs in-process). Visma's
    rate-limit window has turned by then too."""
    SalesOrder.objects.filter(pk=order.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    cache.clear()
    forget_process_state()
    with capture(execute=True):
        services.sweep()
    order.refresh_from_db()
    return order


def assert_exactly_once_in_visma(sandbox, order) -> None:
    received = [o for o in sandbox.state.orders() if o["customerRefNo"] == order.reference]
    assert len(received) == 1, f"{len(received)} copies of {order.reference} in Visma"
    assert received[0]["body"] == payload.build(order)
    assert order.visma_number == received[0]["orderId"]


@pytest.mark.parametrize(("kind", "times", "state", "attempts", "in_visma", "log"), ORDER_CASES)
def test_order_submission_fault(
    sandbox, order, django_capture_on_commit_callbacks, kind, times, state, attempts, in_visma, log
):
    sandbox.state.set_faults([fault(ORDERS, kind, times=times, retry_after=30)])

    order = submit_through_the_queue(order, django_capture_on_commit_callbacks)

    assert order.state == state, order.last_error
    assert order.attempts == attempts
    assert len(sandbox.state.orders()) == in_visma
    assert [attempt.outcome for attempt in order.attempts_log.all()] == log
    if state == State.QUEUED:
        assert order.last_error and order.next_attempt_at > timezone.now()
    if state == State.FAILED:
        assert "refused the access token twice" in order.last_error and order.last_error_status == 401

    sandbox.state.set_faults([])
    if state == State.QUEUED:
        order = retry_when_due(order, django_capture_on_commit_callbacks)
    elif state == State.FAILED:
        order = submit_through_the_queue(order, django_capture_on_commit_callbacks)
    assert order.state == State.SUBMITTED, order.last_error
    assert_exactly_once_in_visma(sandbox, order)
    assert len(sandbox.state.orders()) == 1


def test_order_outcome_unknown_while_the_lookup_fails_too_is_never_posted_again(
    sandbox, order, django_capture_on_commit_callbacks
):
    sandbox.state.set_faults(
        [fault(ORDERS, "accept_then_drop", times=1), {"method": "GET", "path": "/api/v3/SalesOrders", "kind": "500"}]
    )
    order = submit_through_the_queue(order, django_capture_on_commit_callbacks)
    assert order.state == State.SUBMITTING and "Outcome unknown" in order.last_error
    assert len(sandbox.state.orders()) == 1

    sandbox.state.set_faults([])
    order = retry_when_due(order, django_capture_on_commit_callbacks)  # the sweeper reconciles, it does not POST
    assert order.state == State.SUBMITTED
    assert_exactly_once_in_visma(sandbox, order)
    assert [r["method"] for r in requests_to(sandbox, "/api/v3/SalesOrders")].count("POST") == 1


def test_order_slower_than_the_read_timeout_is_never_created_twice(sandbox, order, django_capture_on_commit_callbacks):
    sandbox.state.set_faults([fault(ORDERS, "slow", times=1)])

    order = submit_through_the_queue(order, django_capture_on_commit_callbacks)
    assert order.state == State.QUEUED and order.attempts_log.first().outcome == "unknown"
    wait_for(lambda: len(sandbox.state.orders()) == 1)  # Visma finished the slow request after all

    order = retry_when_due(order, django_capture_on_commit_callbacks)
    assert order.state == State.SUBMITTED
    assert_exactly_once_in_visma(sandbox, order)


# --- the pages staff use while Visma misbehaves ----------------------------------------------------------------------
ENDPOINTS = {"token": TOKEN, "customers": CUSTOMERS, "orders": ORDERS}
# Every fault that makes a call fail; no_etag only leaves out the ETag of an order's version, which these pages never
# read (tests/orders/test_changes.py covers it).
EVERY_FAULT = sorted(FAULT_KINDS - {"no_etag"})


@pytest.mark.parametrize("kind", EVERY_FAULT)
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_pages_answer_with_a_message_never_a_server_error(
    settings, sandbox, tenant, order, order_clerk, django_capture_on_commit_callbacks, endpoint, kind
):
    settings.CUSTOMER_SYNC_MAX_WAIT = 10
    sandbox.state.set_faults([fault(ENDPOINTS[endpoint], kind, probability=1.0, retry_after=3600)])
    client = logged_in(order_clerk)
    client.raise_request_exception = False
    pk = {"pk": tenant.pk}

    check = client.post(reverse("tenants:tenant-check", kwargs=pk), headers={"HX-Request": "true"})
    assert check.status_code == 200
    report = check.content.decode()
    if endpoint == "orders":
        assert report.count('class="step ok"') == 3
    else:
        assert 'class="step failed"' in report

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(reverse("tenants:sync-start", kwargs=pk))
    assert started.status_code == 302
    status = client.get(reverse("tenants:sync-status", kwargs=pk))
    assert status.status_code == 200
    outcome = CustomerSync.objects.get(tenant=tenant).outcome
    if endpoint == "orders":
        assert outcome == Outcome.SUCCEEDED
    elif endpoint == "customers" and kind == "429":  # Test connection's 429 said the window is spent for an hour
        assert outcome == Outcome.DEFERRED and "Sync deferred" in status.content.decode()
    else:
        assert outcome == Outcome.FAILED
    assert ("Sync failed" in status.content.decode()) == (outcome == Outcome.FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        submitted = client.post(reverse("orders:order-submit", kwargs={"pk": order.pk}))
    assert submitted.status_code == 302
    order.refresh_from_db()
    detail = client.get(reverse("orders:order-detail", kwargs={"pk": order.pk}))
    assert detail.status_code == 200
    assert order.state in (State.QUEUED, State.SUBMITTING, State.SUBMITTED, State.FAILED)
    if order.state != State.SUBMITTED:
        assert order.last_error and escape(order.last_error)[:60] in detail.content.decode()
    assert len([o for o in sandbox.state.orders() if o["customerRefNo"] == order.reference]) <= 1

    for name, kwargs in [
        ("dashboard", {}),
        ("tenants:tenant-detail", pk),
        ("tenants:customer-list", {}),
        ("orders:order-list", {}),
        ("tenants:api-call-list", {}),
    ]:
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 200, name
    if kind == "slow":
        time.sleep(SLOW["delay"])


# --- after the portal gave up: staff actions must not duplicate an order Visma created late ------------------------
def give_up_while_visma_is_still_creating(settings, sandbox, order, capture) -> SalesOrder:
    settings.ORDER_MAX_ATTEMPTS = 1
    sandbox.state.set_faults([fault(ORDERS, "slow", times=1)])
    order = submit_through_the_queue(order, capture)
    assert order.state == State.FAILED and "Gave up after 1 attempts" in order.last_error
    wait_for(lambda: len(sandbox.state.orders()) == 1)  # Visma created it after the portal's lookup
    return order


def test_resubmitting_an_order_the_portal_gave_up_on_looks_it_up_first(
    settings, sandbox, order, django_capture_on_commit_callbacks
):
    order = give_up_while_visma_is_still_creating(settings, sandbox, order, django_capture_on_commit_callbacks)
    order = submit_through_the_queue(order, django_capture_on_commit_callbacks)
    assert order.state == State.SUBMITTED
    assert_exactly_once_in_visma(sandbox, order)
    assert [a.outcome for a in order.attempts_log.all()][-1] == "found"


def test_cancelling_an_order_visma_may_have_marks_it_submitted_instead(
    settings, sandbox, order, django_capture_on_commit_callbacks
):
    order = give_up_while_visma_is_still_creating(settings, sandbox, order, django_capture_on_commit_callbacks)
    cancelled, why_not = services.cancel(order)
    order.refresh_from_db()
    assert not cancelled and "Visma already has this order" in why_not
    assert order.state == State.SUBMITTED and order.visma_number
    assert_exactly_once_in_visma(sandbox, order)


def test_cancel_is_refused_while_visma_cannot_be_asked(settings, sandbox, order, django_capture_on_commit_callbacks):
    order = give_up_while_visma_is_still_creating(settings, sandbox, order, django_capture_on_commit_callbacks)
    sandbox.state.set_faults([{"path": "/api/v3/SalesOrders", "kind": "503", "probability": 1.0}])
    cancelled, why_not = services.cancel(order)
    order.refresh_from_db()
    assert not cancelled and "could not be asked" in why_not and order.state == State.FAILED
