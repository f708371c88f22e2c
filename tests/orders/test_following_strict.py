"""Following orders against a Visma stricter than the portal's guesses, over real HTTP to the sandbox: what it may do
that its documents do not rule out, and the races between the refresh, Refresh now, changes and submission."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from orders import changes, refresh, services
from orders.models import OrderChange, SalesOrder
from tenants.models import Tenant
from tenants.visma import VismaClient
from tests.ordering import make_due, make_order, posts, wait_for
from tests.orders.following import change_in_visma, followed_orders

pytestmark = pytest.mark.django_db
State = SalesOrder.State
POST = {"method": "POST", "path": "/api/v3/SalesOrders"}


def refreshed(order: SalesOrder) -> SalesOrder:
    order.refresh_from_db()
    return order


def test_an_order_the_refresh_finds_between_a_lookup_and_its_resend_is_never_posted_again(
    sandbox, tenant, settings, monkeypatch
):
    # Visma creates the order after the resend window, just after the worker's lookup read "not found": the refresh
    # sees it under our reference before the worker sends the POST again. That POST would be a second order.
    settings.ORDER_RESEND_AFTER_SECONDS = 1
    sandbox.state.set_faults([{**POST, "kind": "commit_after", "delay": 4, "times": 1}])  # after both lookups below
    order = make_order(tenant)
    assert services.queue(order)
    services.submit(order.pk)
    assert refreshed(order).state == State.SUBMITTING
    time.sleep(1.1)
    make_due(order)
    services.sweep()  # looked up again past the window: not there, back to the queue to be sent again
    assert refreshed(order).state == State.QUEUED

    real_lookup = services.find_in_visma

    def lookup_then_visma_commits_and_the_refresh_runs(order, client=None):
        found = real_lookup(order, client)
        assert found is None and wait_for(lambda: sandbox.state.orders())
        assert refresh.refresh_tenant(tenant).changed[0].found
        return found

    monkeypatch.setattr(services, "find_in_visma", lookup_then_visma_commits_and_the_refresh_runs)
    make_due(order)
    services.submit(order.pk)
    order = refreshed(order)
    assert order.state == State.SUBMITTED and order.visma_number == sandbox.state.orders()[0]["orderId"]
    assert posts(sandbox) == 1 and len(sandbox.state.orders()) == 1


def test_an_order_found_while_its_resend_is_on_its_way_is_reported_as_created_twice(
    sandbox, tenant, settings, monkeypatch, caplog
):
    settings.ORDER_RESEND_AFTER_SECONDS = 1
    # Visma creates the first order 4 s after its answer was lost: after the lookups below (a second apart), while
    # the resend is on its way. A sooner commit (1.5 s) was found by the lookup on a slow machine.
    sandbox.state.set_faults([{**POST, "kind": "commit_after", "delay": 4, "times": 1}])
    order = make_order(tenant)
    assert services.queue(order)
    services.submit(order.pk)
    time.sleep(1.1)
    make_due(order)
    services.sweep()
    assert refreshed(order).state == State.QUEUED

    real_create = VismaClient.create_sales_order

    def the_refresh_finds_the_first_one_while_this_post_is_on_its_way(client, payload):
        assert wait_for(lambda: sandbox.state.orders())
        assert refresh.refresh_tenant(tenant).changed[0].found
        return real_create(client, payload)

    monkeypatch.setattr(
        VismaClient, "create_sales_order", the_refresh_finds_the_first_one_while_this_post_is_on_its_way
    )
    make_due(order)
    with caplog.at_level(logging.ERROR, logger="orders.services"):
        services.submit(order.pk)
    first, second = sandbox.state.orders()
    order = refreshed(order)
    assert order.state == State.SUBMITTED and order.visma_number == first["orderId"]  # the portal keeps the first
    post = order.attempts_log.filter(kind="post", outcome="created").get()
    assert f"a second time as SO {second['orderId']}" in post.message and "Cancel one of them in Visma" in post.message
    assert any("a second time" in record.getMessage() for record in caplog.records)


# --- the watermark never runs ahead of Visma's clock ------------------------------------------------------------------
def test_last_modified_in_local_time_without_a_zone_never_moves_the_watermark_past_later_changes(sandbox, tenant):
    # Visma writes lastModified two hours east of UTC with no zone; read as UTC it lies two hours in the future.
    sandbox.state.local_time_hours = 2.0
    second = followed_orders(sandbox, tenant, 2)[1]
    assert refresh.refresh_tenant(tenant).read == 2
    change_in_visma(sandbox, second, status="Hold")  # after the run, by Visma's clock
    assert refresh.refresh_tenant(tenant).read >= 1
    assert refreshed(second).visma_status == "Hold"
    tenant.refresh_from_db()
    assert tenant.orders_seen_until <= timezone.now() + timedelta(seconds=5)


def test_an_order_changed_while_a_long_walk_pages_is_read_by_the_next_run(sandbox, tenant, monkeypatch):
    # Created asc: an order changed during the walk joins the list before the page being read, so this walk misses
    # it; the walk took longer than the overlap, so later rows on later pages are newer than it by more than that.
    early, middle, late = followed_orders(sandbox, tenant, 3)
    refresh.refresh_tenant(tenant)
    sandbox.state.clock_offset += 300  # five minutes later
    change_in_visma(sandbox, middle, description="changed before the walk")
    sandbox.state.silent_page_cap = 1
    real_list = VismaClient.list_sales_orders

    def visma_changes_orders_while_the_walk_goes_on(client, since, page_index, size, **kwargs):
        page = real_list(client, since, page_index, size, **kwargs)
        if page_index == 0:
            change_in_visma(sandbox, early, status="Hold")  # joins the list before the walk's position
            sandbox.state.clock_offset += 120  # the walk goes on for two minutes
            change_in_visma(sandbox, late, description="changed later in the walk")
        return page

    monkeypatch.setattr(VismaClient, "list_sales_orders", visma_changes_orders_while_the_walk_goes_on)
    refresh.refresh_tenant(tenant)
    assert refreshed(late).visma_last_modified and refreshed(early).visma_status == "Open"  # missed by that walk
    monkeypatch.setattr(VismaClient, "list_sales_orders", real_list)
    refresh.refresh_tenant(tenant)
    assert refreshed(early).visma_status == "Hold"


# --- an older read never overwrites a newer one ---------------------------------------------------------------------
def test_refresh_now_answered_before_a_scheduled_run_wrote_newer_values_keeps_the_newer(sandbox, tenant, monkeypatch):
    order = followed_orders(sandbox, tenant, 1)[0]
    refresh.refresh_tenant(tenant)
    real_get = VismaClient.get_sales_order

    def read_then_visma_changes_and_the_scheduled_run_writes(client, *args, **kwargs):
        remote = real_get(client, *args, **kwargs)
        change_in_visma(sandbox, order, status="Hold")
        assert refresh.refresh_tenant(tenant).changed
        return remote

    monkeypatch.setattr(VismaClient, "get_sales_order", read_then_visma_changes_and_the_scheduled_run_writes)
    assert refresh.refresh_order(refreshed(order)) == ""
    order = refreshed(order)
    assert order.visma_status == "Hold"
    stored = sandbox.state.find_order(str(tenant.tenant_id), "SO", order.visma_number)
    assert order.visma_last_modified == refresh._moment(stored["lastModified"])


def test_a_change_s_read_older_than_what_the_refresh_wrote_meanwhile_keeps_the_newer(sandbox, tenant, monkeypatch):
    order = followed_orders(sandbox, tenant, 1)[0]
    changes.read_now(refreshed(order))
    change = changes.request_change(refreshed(order), "edit", {"description": "Ours"})
    real_get = VismaClient.get_sales_order

    def read_after_the_patch_then_visma_moves_on(client, *args, **kwargs):
        remote = real_get(client, *args, **kwargs)
        change_in_visma(sandbox, order, status="Hold")
        assert refresh.refresh_tenant(tenant).changed
        return remote

    monkeypatch.setattr(VismaClient, "get_sales_order", read_after_the_patch_then_visma_moves_on)
    changes.apply_change(change.pk)
    change.refresh_from_db()
    assert change.state == OrderChange.State.APPLIED
    assert refreshed(order).visma_status == "Hold"


@pytest.mark.django_db(transaction=True)  # two threads, two connections, as a worker and the web process
def test_a_refresh_now_answered_while_a_run_writes_is_not_overwritten_by_the_run_s_older_row(
    sandbox, tenant, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes the write lock when the run's transaction begins: there is no window")
    order = followed_orders(sandbox, tenant, 1)[0]
    refresh.refresh_tenant(tenant)
    change_in_visma(sandbox, order, description="listed by the run")
    real_write, loaded, written = refresh._write, threading.Event(), threading.Event()

    def write_after_a_refresh_now_came_in(orders):
        loaded.set()  # the run read the portal's orders and is about to write its list rows
        written.wait(timeout=2)  # a Refresh now answered meanwhile writes now, unless the rows are locked
        real_write(orders)

    monkeypatch.setattr(refresh, "_write", write_after_a_refresh_now_came_in)

    def run() -> None:
        try:
            refresh.refresh_tenant(Tenant.objects.get(pk=tenant.pk))
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    assert loaded.wait(timeout=10)
    change_in_visma(sandbox, order, status="Hold")
    assert refresh.refresh_order(refreshed(order)) == ""
    written.set()
    worker.join(timeout=10)
    assert refreshed(order).visma_status == "Hold"


# --- a walk that may have skipped an order ----------------------------------------------------------------------------
def test_an_order_skipped_because_another_was_deleted_while_paging_is_still_read(sandbox, tenant, monkeypatch):
    # Paged by offset: deleting an order already read moves every later one a place forward, so the next page starts
    # one order too far. The skipped order changed minutes before the others, longer ago than the overlap.
    first, skipped, third, fourth = followed_orders(sandbox, tenant, 4)
    refresh.refresh_tenant(tenant)
    sandbox.state.clock_offset += 300
    change_in_visma(sandbox, first, description="changed")
    change_in_visma(sandbox, skipped, status="Hold")
    sandbox.state.clock_offset += 120
    change_in_visma(sandbox, third, description="changed")
    change_in_visma(sandbox, fourth, description="changed")
    sandbox.state.silent_page_cap = 1
    real_list, deleted = VismaClient.list_sales_orders, []

    def someone_deletes_the_first_order_after_it_was_read(client, since, page_index, size, **kwargs):
        page = real_list(client, since, page_index, size, **kwargs)
        if not deleted:
            deleted.append(change_in_visma(sandbox, first, delete=True))
        return page

    monkeypatch.setattr(VismaClient, "list_sales_orders", someone_deletes_the_first_order_after_it_was_read)
    result = refresh.refresh_tenant(tenant)
    assert refreshed(skipped).visma_status == "Hold"
    assert "listed 4 orders at first but 3 were read" in result.note


def test_a_list_short_of_its_total_twice_keeps_the_watermark(sandbox, tenant, monkeypatch):
    followed_orders(sandbox, tenant, 2)
    refresh.refresh_tenant(tenant)
    tenant.refresh_from_db()
    watermark = tenant.orders_seen_until
    sandbox.state.clock_offset += 300
    change_in_visma(sandbox, followed_orders(sandbox, tenant, 1)[0], description="changed")
    real_list = VismaClient.list_sales_orders

    def one_order_more_in_the_total_than_ever_listed(client, *args, **kwargs):
        page = real_list(client, *args, **kwargs)
        return dataclasses.replace(page, total_count=page.total_count + 1)

    monkeypatch.setattr(VismaClient, "list_sales_orders", one_order_more_in_the_total_than_ever_listed)
    result = refresh.refresh_tenant(tenant)
    assert (
        result.outcome == refresh.REFRESHED and result.calls == 2 and "reads again from the same point" in result.note
    )
    tenant.refresh_from_db()
    assert tenant.orders_seen_until == watermark


# --- an order Visma has twice -----------------------------------------------------------------------------------------
def test_a_first_post_visma_carries_out_after_the_resend_is_reported_as_a_second_order(
    sandbox, tenant, settings, caplog
):
    # The POST's answer is lost and Visma creates the order only after the resend window, when the order was sent
    # again and created: Visma now has it twice under our reference. The refresh says so once, on the timeline.
    settings.ORDER_RESEND_AFTER_SECONDS = 1
    sandbox.state.set_faults([{**POST, "kind": "commit_after", "delay": 2.5, "times": 1}])
    order = make_order(tenant)
    assert services.queue(order)
    services.submit(order.pk)
    time.sleep(1.1)
    make_due(order)
    services.sweep()
    make_due(order)
    services.submit(order.pk)
    order = refreshed(order)
    assert order.state == State.SUBMITTED and posts(sandbox) == 2
    assert wait_for(lambda: len(sandbox.state.orders()) == 2)
    late = next(o for o in sandbox.state.orders() if o["orderId"] != order.visma_number)
    assert late["customerRefNo"] == order.reference

    with caplog.at_level(logging.ERROR, logger="orders.refresh"):
        result = refresh.refresh_tenant(tenant)
    assert f"SO {late['orderId']}" in result.note
    twice = order.attempts_log.get(kind="lookup", outcome="created twice")
    assert f"SO {late['orderId']}" in twice.message and order.visma_label in twice.message
    assert any("a second time" in record.getMessage() for record in caplog.records)
    refresh.refresh_tenant(tenant)  # read again (the overlap): said once
    assert order.attempts_log.filter(kind="lookup", outcome="created twice").count() == 1
    assert refreshed(order).visma_number != late["orderId"]  # the portal keeps following the one it was answered


# --- a walk longer than a task may run -------------------------------------------------------------------------------
def test_a_walk_visma_serves_too_slowly_ends_by_itself_before_the_task_timeout(sandbox, tenant, settings):
    # Pages Visma caps at 2 orders, each answered in 0.4 s: the walk would outlast the task's time. It stops within
    # the task's budget and says so, instead of being killed by the queue with its lock still held.
    settings.ORDER_TASK_BUDGET_SECONDS = 2.0
    followed_orders(sandbox, tenant, 20)
    sandbox.state.silent_page_cap = 2
    sandbox.state.latency = {"GET /api/v3/SalesOrders": 0.4}
    started = time.monotonic()
    result = refresh.refresh_tenant(tenant)
    assert time.monotonic() - started < 3.0
    assert result.outcome == refresh.FAILED and "No time was left" in result.error
    tenant.refresh_from_db()
    assert tenant.orders_seen_until is None and "No time was left" in tenant.orders_refresh_error
    sandbox.state.latency = 0.0
    assert refresh.refresh_tenant(tenant).outcome == refresh.REFRESHED  # the lock was let go
