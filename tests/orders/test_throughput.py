"""Submission at Visma's limits: the rate budget, the resend at Retry-After, fairness between tenants, and the cost of
one order in queries. All over real HTTP to the sandbox."""

from __future__ import annotations

import time
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import services, tasks
from orders.models import SalesOrder
from tenants import services as tenant_services
from tenants.models import Tenant
from tests.ordering import make_order, posts, wait_for

pytestmark = pytest.mark.django_db
State = SalesOrder.State


def queued(tenant, count: int, number: str = "10000") -> list[SalesOrder]:
    orders = [make_order(tenant, number) for _ in range(count)]
    SalesOrder.objects.filter(pk__in=[o.pk for o in orders]).update(state=State.QUEUED, next_attempt_at=timezone.now())
    return orders


def statuses(server) -> list[int]:
    return [r["status"] for r in server.state.request_log() if r["path"].startswith("/api/")]


@pytest.fixture
def small_window(rate_window):
    """Visma's budget cut to 20 requests per minute for this test."""
    return rate_window(20, 60)


def test_a_submitted_order_costs_at_most_eight_queries(sandbox, tenant):
    first, second = queued(tenant, 2)
    tasks.submit_order(first.pk)  # the token and Visma's clock are known after the first
    with CaptureQueriesContext(connection) as queries:
        tasks.submit_order(second.pk)
    second.refresh_from_db()
    assert second.state == State.SUBMITTED
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) <= 8, "\n".join(statements)


@pytest.mark.django_db(transaction=True)  # in autocommit, as in a worker: no savepoints around the log's writes
def test_the_happy_path_query_budget_holds_with_django_assert(sandbox, tenant, django_assert_max_num_queries):
    first, second = queued(tenant, 2)
    tasks.submit_order(first.pk)
    with django_assert_max_num_queries(8):
        tasks.submit_order(second.pk)


def test_background_work_stops_before_visma_says_429_and_leaves_the_reserve_to_staff(small_window, tenant, settings):
    settings.VISMA_RATE_RESERVE = 0.1  # 2 of the window's 20 calls
    orders = queued(tenant, 25)
    for order in orders:
        services.submit(order.pk)
    submitted = SalesOrder.objects.filter(state=State.SUBMITTED).count()
    assert 10 <= submitted <= 18  # at once until half the window is used, then one turn every few seconds
    assert 429 not in statuses(small_window)
    held = SalesOrder.objects.filter(state=State.QUEUED)
    assert held.count() == 25 - submitted
    assert all("Held back to stay within Visma's rate limit" in o.last_error for o in held)
    assert all(o.next_attempt_at > timezone.now() for o in held)
    assert all(o.attempts == 0 for o in held)  # nothing was sent for them
    assert posts(small_window) == submitted
    report = tenant_services.check_connection(tenant)  # staff's own calls may use the reserve
    assert all(step.state == "ok" for step in report.steps[:2]), report.summary
    assert 429 not in statuses(small_window)


@pytest.fixture
def strict_window(small_window):
    """Older Visma rules: Reset as a Unix time, lower-case headers, and requests into a spent window punished."""
    state = small_window.state
    state.rate_reset_epoch, state.lowercase_headers, state.rate_penalty = True, True, 30
    yield small_window
    state.rate_reset_epoch, state.lowercase_headers, state.rate_penalty = False, False, 0.0


def test_a_stricter_visma_is_never_met_with_a_429_either(strict_window, tenant, settings):
    settings.VISMA_RATE_RESERVE = 0.1
    orders = queued(tenant, 25)
    for order in orders:
        services.submit(order.pk)
    answers = [r for r in strict_window.state.request_log() if r["path"].startswith("/api/")]
    assert answers and 429 not in [r["status"] for r in answers]
    submitted = SalesOrder.objects.filter(state=State.SUBMITTED).count()
    assert 10 <= submitted <= 18
    window = client_for(tenant).rate_budget.snapshot()
    assert window is not None and window.limit == 20  # the lower-case headers and the Unix-time reset were read
    assert 0 < window.resets_at - time.time() <= 61


def client_for(tenant):
    from tenants.visma import VismaClient

    return VismaClient(tenant)


def test_with_only_the_reserve_left_background_calls_wait_for_the_next_window(sandbox, tenant, settings):
    from tenants.visma import VismaClient

    settings.VISMA_RATE_RESERVE = 0.1
    budget = VismaClient(tenant).rate_budget
    budget.observe({"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "10", "X-RateLimit-Reset": "30"}, status=200)
    wait = budget.take_turn(max_wait=5)
    assert 29 <= wait <= 31.5
    assert budget.snapshot().remaining == 10  # a turn handed back is not taken
    budget.observe({"Retry-After": "40"}, status=429, retry_after=40)
    assert budget.take_turn(max_wait=5) >= 39


def test_once_less_than_half_the_window_is_left_calls_are_spread_over_the_rest(small_window, tenant, settings):
    settings.VISMA_RATE_RESERVE = 0.1
    from tenants.visma import VismaClient

    client = VismaClient(tenant)
    for _ in range(9):  # 20 -> 11 left: 9 usable, below half the limit
        client.get_customers(page_index=0, page_size=1)
    budget = client.rate_budget
    waits = [budget.take_turn(max_wait=3600) for _ in range(3)]
    assert waits[0] < 1
    assert waits[1] > waits[0] and waits[2] > waits[1]  # each turn later than the one before
    window = budget.snapshot()
    assert window.remaining == 8  # 11 reported, 3 turns taken since
    assert 429 not in statuses(small_window)


def test_a_429_resends_the_order_when_retry_after_ends(sandbox, tenant, settings):
    order = queued(tenant, 1)[0]
    sandbox.state.set_faults([{"kind": "429", "path": "/api/v3/SalesOrders", "method": "POST", "times": 1}])
    services.submit(order.pk)
    order.refresh_from_db()
    assert order.state == State.QUEUED and order.attempts == 0
    assert (order.next_attempt_at - timezone.now()).total_seconds() <= 1.5


@pytest.mark.django_db(transaction=True)
def test_the_wakeup_hands_the_order_to_a_worker_again(sandbox, tenant, settings):
    settings.ORDER_WAKEUPS = True
    order = queued(tenant, 1)[0]
    sandbox.state.set_faults([{"kind": "429", "path": "/api/v3/SalesOrders", "method": "POST", "times": 1}])
    services.submit(order.pk)  # 429 with Retry-After 1 s; no sweeper runs in this test
    assert wait_for(lambda: SalesOrder.objects.get(pk=order.pk).state == State.SUBMITTED, 15)
    assert posts(sandbox) == 2


def sending(order) -> None:
    """As if a worker were posting the order right now."""
    SalesOrder.objects.filter(pk=order.pk).update(
        state=State.SUBMITTING, attempt_started_at=timezone.now(), next_attempt_at=None
    )


def second_tenant(tenant) -> Tenant:
    return Tenant.objects.create(
        application=tenant.application,
        name="Second AS",
        tenant_id=uuid.uuid4(),
        can_write=True,
    )


def test_a_tenant_at_its_share_gives_its_turn_to_another_tenants_waiting_order(sandbox, tenant, settings):
    settings.ORDER_TENANT_CONCURRENCY = 1
    busy, waiting = queued(tenant, 2)
    SalesOrder.objects.filter(pk=busy.pk).update(
        state=State.SUBMITTING, attempt_started_at=timezone.now(), next_attempt_at=None
    )
    other = second_tenant(tenant)
    theirs = queued(other, 1)[0]
    assert services.fair_turn_for(waiting) is False
    result = services.submit(waiting.pk)
    assert result is not None and result.pk == theirs.pk
    waiting.refresh_from_db()
    theirs.refresh_from_db()
    assert waiting.state == State.QUEUED and waiting.attempts == 0
    assert theirs.state in (State.SUBMITTED, State.FAILED)  # the second tenant is not approved in the sandbox


def test_alone_a_tenant_uses_every_worker(sandbox, tenant, settings):
    settings.ORDER_TENANT_CONCURRENCY = 1
    busy, next_one = queued(tenant, 2)
    SalesOrder.objects.filter(pk=busy.pk).update(
        state=State.SUBMITTING, attempt_started_at=timezone.now(), next_attempt_at=None
    )
    assert services.fair_turn_for(next_one) is True
    assert services.submit(next_one.pk).state == State.SUBMITTED


def test_a_second_delivery_of_a_claimed_order_does_nothing(sandbox, tenant):
    order = queued(tenant, 1)[0]
    services.submit(order.pk)
    assert services.submit(order.pk) is None
    assert posts(sandbox) == 1


def test_an_order_edited_between_read_and_claim_is_not_sent_as_read(sandbox, tenant, monkeypatch):
    order = queued(tenant, 1)[0]
    read = services._read_due(order.pk)
    SalesOrder.objects.filter(pk=order.pk).update(updated_at=timezone.now())  # someone saved it meanwhile
    assert services._claim(read) is False
    assert SalesOrder.objects.get(pk=order.pk).state == State.QUEUED


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A test table is small enough to scan, or to read through any index and sort: ask for the plan the
            # planner picks at 100,000 rows, an index that already holds the rows in order.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row) for row in cursor.fetchall())


def test_the_sweepers_due_orders_are_read_from_the_index_alone(tenant):
    queued(tenant, 3)
    due = (
        SalesOrder.objects.filter(services._due(timezone.now()), state=State.QUEUED)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:500]
    )
    explained = plan(due)
    if connection.vendor == "postgresql":  # index-only once the table is vacuumed: the index holds every column read
        assert "using order_due_ids" in explained, explained
    else:
        assert "COVERING INDEX order_due_ids" in explained, explained


def test_a_tenants_orders_in_flight_are_counted_from_an_index(tenant):
    queued(tenant, 3)
    explained = plan(services.in_flight(tenant.pk).order_by().values_list("pk", flat=True))
    # SQLite takes the (tenant, state, next attempt) index; PostgreSQL may prefer another that starts the same way
    assert "order_tenant" in explained and "SCAN orders_salesorder" not in explained, explained
    assert "Seq Scan" not in explained, explained


def test_many_held_back_orders_wait_in_one_timer_thread_each_once(settings, monkeypatch):
    import threading
    from datetime import timedelta

    from orders import wakeups

    settings.ORDER_WAKEUPS = True
    woken: list[int] = []
    done = threading.Event()
    monkeypatch.setattr(wakeups, "_wake", lambda order_id: (woken.append(order_id), len(woken) == 3 and done.set()))
    monkeypatch.setattr(wakeups, "_alarm", wakeups._Alarm())
    soon = timezone.now() + timedelta(seconds=0.2)
    for order_id in (1, 2, 3, 1, 2):
        wakeups.enqueue_at(order_id, soon)
    wakeups.enqueue_at(4, timezone.now() + timedelta(hours=1))  # the sweeper's business
    assert done.wait(10)
    assert sorted(woken) == [1, 2, 3]
    assert sum(t.name == "order-wakeups" for t in threading.enumerate()) >= 1
    assert 4 not in wakeups._alarm.waiting
