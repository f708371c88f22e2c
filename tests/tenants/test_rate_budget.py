"""The rate budget per (application, tenant): what Visma's headers say, shared through the cache once it is scarce,
and the customer sync leaving the second half of each window to order submission."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django_q.models import Schedule

from tenants import sync
from tenants.customer_models import Customer, CustomerSync
from tenants.notifications import Incident
from tenants.visma import VismaClient, forget_process_state
from tenants.visma.budget import RateBudget, Window

pytestmark = pytest.mark.django_db


def headers(limit, remaining, reset):
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": str(reset)}


@pytest.fixture
def budget(settings):
    settings.VISMA_RATE_RESERVE = 0.1
    return RateBudget(1, "tenant-a")


def test_a_plentiful_window_stays_in_the_process_and_costs_the_cache_nothing(budget):
    budget.observe(headers(100, 90, 600), status=200)
    assert cache.get(budget.key) is None
    assert budget.take_turn(max_wait=1) == 0
    assert budget.snapshot().remaining == 89


def test_a_scarce_window_is_shared_with_every_worker(budget):
    budget.observe(headers(100, 30, 600), status=200)
    assert isinstance(cache.get(budget.key), Window)
    forget_process_state()  # another worker, on another host, that has not had an answer yet
    other = RateBudget(1, "tenant-a")
    wait = other.take_turn(max_wait=60)
    assert wait == 0
    assert cache.get(budget.key).remaining == 29


def test_turns_are_spread_evenly_over_what_is_left_of_the_window(budget):
    budget.observe(headers(100, 30, 200), status=200)  # 20 usable calls over 200 s: one every 10 s
    waits = [budget.take_turn(max_wait=3600) for _ in range(3)]
    assert waits[0] == pytest.approx(0, abs=0.5)
    assert waits[1] == pytest.approx(10, abs=1)
    assert waits[2] == pytest.approx(20, abs=1.5)


def test_a_later_answer_of_the_same_window_never_raises_the_count(budget):
    budget.observe(headers(100, 30, 200), status=200)
    for _ in range(5):
        budget.take_turn(max_wait=3600)
    budget.observe(headers(100, 29, 199), status=200)  # an answer to a call made before those five
    assert budget.snapshot().remaining == 25


def test_a_new_window_replaces_the_old_one(budget):
    budget.observe(headers(100, 11, 2), status=200)
    budget.observe(headers(100, 99, 3600), status=200)
    assert budget.snapshot().remaining == 99


def test_a_short_429_blocks_until_its_retry_after_and_leaves_the_window_as_it_was(budget):
    budget.observe(headers(1000, 900, 3600), status=200)
    # Visma's other limits (the same request too often, repeated failures) answer 429 while the window has plenty
    budget.observe({**headers(1000, 0, 1), "Retry-After": "1"}, status=429, retry_after=1)
    wait = budget.take_turn(max_wait=0.01)
    assert 0 < wait <= 1
    window = budget.snapshot()
    assert window.remaining == 900 and window.resets_at - time.time() > 3500
    time.sleep(wait)
    assert budget.take_turn(max_wait=0.01) == 0


def test_a_429_that_describes_the_window_empties_it(budget):
    budget.observe(headers(100, 40, 600), status=200)
    budget.observe({**headers(100, 0, 600), "Retry-After": "600"}, status=429, retry_after=600)
    assert budget.take_turn(max_wait=1) > 590


def test_a_reset_given_as_a_unix_time_is_understood(budget):
    budget.observe(headers(100, 10, int(time.time()) + 120), status=200)
    assert 118 <= budget.take_turn(max_wait=1) <= 121


def test_unreadable_headers_change_nothing(budget):
    budget.observe({"X-RateLimit-Limit": "lots", "X-RateLimit-Remaining": "-", "X-RateLimit-Reset": ""}, status=200)
    assert budget.snapshot() is None
    assert budget.take_turn(max_wait=1) == 0


def test_visma_counts_per_application_and_tenant(budget):
    budget.observe(headers(100, 10, 600), status=200)
    assert RateBudget(1, "tenant-b").take_turn(max_wait=1) == 0
    assert RateBudget(2, "tenant-a").take_turn(max_wait=1) == 0


@pytest.fixture
def hourly_twenty(rate_window):
    return rate_window(20, 3600)


def run(tenant, **kwargs) -> CustomerSync:
    started = sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False)
    return sync.run_sync(started.pk, **kwargs)


def test_a_full_sync_defers_itself_when_half_the_window_is_used(settings, hourly_twenty, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 2  # 40 customers: 20 pages, more than half of the 20 calls an hour
    result = run(tenant, sleep=lambda seconds: pytest.fail("a wait of an hour is deferred, not slept"))
    assert result.outcome == CustomerSync.Outcome.DEFERRED
    assert "order submission needs it" in result.error and "A new sync starts at" in result.error
    assert 0 < result.fetched < 40
    assert Customer.objects.filter(tenant=tenant, removed_at__isnull=False).count() == 0
    assert not Incident.objects.exists()  # a deferral is not a failure
    again = Schedule.objects.get(name=f"customer-sync-after-rate-limit-{tenant.pk}")
    assert again.func == "tenants.tasks.sync_tenant" and again.schedule_type == Schedule.ONCE
    statuses = [r["status"] for r in hourly_twenty.state.request_log() if r["path"].startswith("/api/")]
    assert 429 not in statuses
    assert len(statuses) <= 12  # half of the window, and the two pages fetched ahead
    assert VismaClient(tenant).rate_budget.take_turn(max_wait=1) == 0  # orders still have their half


def test_a_short_wait_for_the_next_window_is_waited_out(settings, rate_window, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 4  # 10 pages: more than half of the window, less than all of it
    rate_window(20, 30)
    waits: list[float] = []
    result = run(tenant, sleep=waits.append)
    assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
    assert waits and all(0 < wait <= 31 for wait in waits)


def test_a_token_stored_by_another_process_just_before_the_lock_is_used_not_fetched_again(sandbox, tenant, monkeypatch):
    from tenants.visma import TokenInfo

    client = VismaClient(tenant)
    theirs = TokenInfo("stored-by-another-worker", time.time() + 3600, "visma.net.erp.salesorder:read")
    real_add = cache.add

    def add_after_the_other_process_finished(key, value, timeout=None):
        if key.endswith(":lock"):  # the other process stored its token and let go of the lock just now
            cache.set(client._cache_key, theirs, 600)
        return real_add(key, value, timeout)

    monkeypatch.setattr(cache, "add", add_after_the_other_process_finished)
    before = sandbox.state.token_request_count()
    assert client.token() == theirs
    assert sandbox.state.token_request_count() == before


def test_a_token_is_not_reused_after_the_client_id_changed(application, tenant):
    before = VismaClient(tenant)._cache_key
    application.client_id = "another-client"
    assert VismaClient(tenant)._cache_key != before
