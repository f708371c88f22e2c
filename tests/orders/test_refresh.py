"""Following orders after submission: one paged list per tenant and interval, over real HTTP to the sandbox."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule

from core.schedules import ORDER_REFRESH
from orders import refresh, services, tasks
from orders.apps import ensure_refresh_schedule
from orders.models import SalesOrder, SubmissionAttempt
from sandbox import dto
from sandbox.seed import TENANT_FULL, TENANT_READ_ONLY
from tenants.api_log import ApiCall
from tenants.models import Tenant
from tenants.visma import VismaClient
from tests.ordering import make_due, make_order, posts, wait_for
from tests.orders.following import change_in_visma, followed_orders, in_visma, list_calls

pytestmark = pytest.mark.django_db
State = SalesOrder.State
EXTRA_TENANT = "5b0e7c1a-2f3d-4e5f-8a9b-0c1d2e3f4a5b"
POST = {"method": "POST", "path": "/api/v3/SalesOrders"}


@pytest.fixture
def three_tenants(sandbox, application):
    """Three tenants of the application that may read orders, the third one only known to this test's sandbox."""
    sandbox.state.extra_tenants = (EXTRA_TENANT,)
    sandbox.state.reset()
    yield [
        Tenant.objects.create(application=application, tenant_id=TENANT_FULL, name="Nordlys Handel AS"),
        Tenant.objects.create(application=application, tenant_id=TENANT_READ_ONLY, name="Fjord AB", can_write=False),
        Tenant.objects.create(application=application, tenant_id=EXTRA_TENANT, name="Extra AS"),
    ]
    sandbox.state.extra_tenants = ()


def as_listed(sandbox, order: SalesOrder) -> dict:
    return dto.list_row(sandbox.state, sandbox.state.find_order(str(order.tenant.tenant_id), "SO", order.visma_number))


def refreshed(order: SalesOrder) -> SalesOrder:
    order.refresh_from_db()
    return order


def test_500_open_orders_of_3_tenants_cost_one_list_call_per_tenant_and_interval(sandbox, three_tenants):
    orders = {
        tenant.pk: followed_orders(sandbox, tenant, 167 if tenant.tenant_id != EXTRA_TENANT else 166)
        for tenant in three_tenants
    }
    assert sum(len(made) for made in orders.values()) == 500

    assert tasks.refresh_all_tenants() == "3 tenants to refresh"  # the schedule; tasks run in the test's process
    for tenant in three_tenants:
        assert list_calls(sandbox, tenant) == 1
    first = refreshed(orders[three_tenants[0].pk][0])
    row = as_listed(sandbox, first)
    assert first.visma_status == "Open" and first.visma_order_total == Decimal(str(row["orderTotal"]))
    assert first.visma_tax_total == Decimal(str(row["taxTotal"])) > 0
    assert first.visma_currency == row["currency"] and first.visma_last_modified
    assert SalesOrder.objects.filter(visma_refreshed_at__isnull=True).count() == 0

    held = orders[three_tenants[1].pk][:10]
    for order in held:
        change_in_visma(sandbox, order, status="Hold")
    tasks.refresh_all_tenants()  # the next interval
    for tenant in three_tenants:
        assert list_calls(sandbox, tenant) == 2
    assert set(SalesOrder.objects.filter(visma_status="Hold")) == set(held)
    tenant = Tenant.objects.get(pk=three_tenants[1].pk)
    assert tenant.orders_refreshed_at and tenant.orders_refresh_error == "" and tenant.orders_seen_until


def test_a_page_size_visma_refuses_is_made_smaller_and_remembered(sandbox, tenant):
    sandbox.state.max_page_size = 100
    orders = followed_orders(sandbox, tenant, 150)
    result = refresh.refresh_tenant(tenant)
    assert result.outcome == refresh.REFRESHED and result.read == 150
    assert list_calls(sandbox, tenant) == 4  # 1,000 and 500 refused, then two pages of 100
    assert "refused pages of 1,000 and refused pages of 500; used 100" in result.note
    assert all(refreshed(order).visma_status == "Open" for order in orders)

    refresh.refresh_tenant(tenant)
    assert list_calls(sandbox, tenant) == 6  # the size that worked is asked for at once


def test_pages_capped_below_the_size_asked_still_read_every_order(sandbox, tenant):
    sandbox.state.silent_page_cap = 30
    orders = followed_orders(sandbox, tenant, 100)
    result = refresh.refresh_tenant(tenant)
    assert result.read == 100 and result.calls == 4  # 30 of 1,000 asked, then pages of 30 from the 31st order
    assert "served 30 orders per page although 1,000 were asked" in result.note
    assert SalesOrder.objects.filter(pk__in=[o.pk for o in orders], visma_status="Open").count() == 100


def test_only_orders_changed_since_the_watermark_are_read_and_the_first_run_starts_at_the_first_submission(
    sandbox, tenant
):
    old = in_visma(sandbox, tenant)  # changed in Visma before anything the portal follows was submitted
    followed = followed_orders(sandbox, tenant, 2)
    sandbox.state.find_order(TENANT_FULL, "SO", old["orderId"])["lastModified"] = "2020-01-01T00:00:00.0000000Z"
    result = refresh.refresh_tenant(tenant)
    assert result.read == 2
    tenant.refresh_from_db()
    seen = tenant.orders_seen_until
    assert seen == max(refreshed(order).visma_last_modified for order in followed)

    assert refresh.refresh_tenant(tenant).read == 2  # the overlap reads the last minute again
    Tenant.objects.filter(pk=tenant.pk).update(orders_seen_until=seen + timedelta(minutes=5))
    assert refresh.refresh_tenant(tenant).read == 0
    tenant.refresh_from_db()
    assert tenant.orders_seen_until == seen + timedelta(minutes=5)  # nothing read: the watermark stays


def test_status_total_shipping_date_and_closing_follow_visma(sandbox, tenant):
    order = followed_orders(sandbox, tenant, 1)[0]
    refresh.refresh_tenant(tenant)
    before = refreshed(order).visma_order_total
    change_in_visma(sandbox, order, lines=[{"lineId": 1, "quantity": 3}])
    result = refresh.refresh_tenant(tenant)
    after = Decimal(str(as_listed(sandbox, order)["orderTotal"]))
    assert after > before and refreshed(order).visma_order_total == after
    assert [seen.describe() for seen in result.changed] == [
        f"{order.reference} (SO {order.visma_number}): total NOK\xa0{before:.2f} → NOK\xa0{after:.2f}"
    ]
    change_in_visma(sandbox, order, status="Completed")
    result = refresh.refresh_tenant(tenant)
    order = refreshed(order)
    assert order.visma_status == "Completed" and order.visma_closed_at is not None
    assert "Open → Completed" in result.changed[0].describe()
    assert order.visma_shipping_date is not None


def test_completed_orders_older_than_the_refresh_days_are_not_followed(sandbox, tenant, settings):
    settings.ORDER_REFRESH_DAYS = 30
    order = followed_orders(sandbox, tenant, 1)[0]
    SalesOrder.objects.filter(pk=order.pk).update(
        visma_status="Completed", visma_closed_at=timezone.now() - timedelta(days=31)
    )
    assert list(refresh.tenants_to_refresh()) == []
    assert refresh.refresh_tenant(tenant).outcome == refresh.IDLE
    assert list_calls(sandbox) == 0

    SalesOrder.objects.filter(pk=order.pk).update(visma_closed_at=timezone.now() - timedelta(days=29))
    assert list(refresh.tenants_to_refresh()) == [tenant]


def test_a_tenant_with_no_followed_orders_makes_no_call(sandbox, tenant):
    make_order(tenant)  # a draft
    assert tasks.refresh_all_tenants() == "0 tenants to refresh"
    assert refresh.refresh_tenant(tenant).summary() == "no orders to follow; no call made"
    assert sandbox.state.request_log() == []


def test_an_order_found_by_its_reference_after_a_lost_answer_is_submitted_and_never_sent_again(
    sandbox, tenant, settings
):
    settings.ORDER_RESEND_AFTER_SECONDS = 600
    sandbox.state.set_faults([{**POST, "kind": "commit_after", "delay": 1.0, "times": 1}])
    order = make_order(tenant)
    assert services.queue(order)
    services.submit(order.pk)
    assert refreshed(order).state == State.SUBMITTING  # the answer was lost and the lookup found nothing yet
    assert wait_for(lambda: sandbox.state.orders())  # Visma commits it after all

    result = refresh.refresh_tenant(tenant)
    order = refreshed(order)
    assert order.state == State.SUBMITTED and order.visma_number == sandbox.state.orders()[0]["orderId"]
    assert order.visma_status == "Open" and result.changed[0].found
    assert "found in Visma after a lost answer" in result.changed[0].describe()
    assert order.attempts_log.filter(kind="lookup", outcome="found").exists()

    make_due(order)
    services.sweep()
    services.submit(order.pk)
    assert posts(sandbox) == 1 and len(sandbox.state.orders()) == 1


def test_a_failed_order_whose_post_lost_its_answer_is_found_too(sandbox, tenant):
    visma = in_visma(sandbox, tenant)
    order = make_order(tenant)
    SalesOrder.objects.filter(pk=order.pk).update(reference=visma["customerRefNo"], state=State.FAILED)
    SubmissionAttempt.objects.create(order=order, kind="post", outcome="unknown", customer_number="10000")
    assert list(refresh.tenants_to_refresh()) == [tenant]
    refresh.refresh_tenant(tenant)
    order = refreshed(order)
    assert (order.state, order.visma_number) == (State.SUBMITTED, visma["orderId"])


def test_an_order_never_sent_is_not_matched_by_reference(sandbox, tenant):
    followed_orders(sandbox, tenant, 1)
    draft = make_order(tenant)
    in_visma(sandbox, tenant, reference=draft.reference)  # someone typed our reference into an order in Visma
    refresh.refresh_tenant(tenant)
    assert refreshed(draft).state == State.DRAFT


def test_the_refresh_writes_orders_in_bulk_not_one_by_one(sandbox, tenant):
    followed_orders(sandbox, tenant, 19)
    refresh.refresh_tenant(tenant)  # the token, Visma's clock and the page size are known from here on
    followed_orders(sandbox, tenant, 1)
    with CaptureQueriesContext(connection) as few:
        refresh.refresh_tenant(tenant)
    followed_orders(sandbox, tenant, 480)
    with CaptureQueriesContext(connection) as many:
        result = refresh.refresh_tenant(tenant)
    assert result.read == 500 and result.updated == 500

    def order_updates(queries) -> int:  # Django logs an executemany as "<n> times UPDATE ..."
        return sum(1 for query in queries if 'UPDATE "orders_salesorder" SET "visma_status"' in query["sql"])

    # The same statements whatever the number of orders: one prepared UPDATE executed for each of up to 500 orders.
    assert len(many.captured_queries) == len(few.captured_queries)
    assert order_updates(few) == 1 and order_updates(many) == 1
    # One more on PostgreSQL, which locks the rows first; one for orders Visma may have twice under our reference.
    assert len(few.captured_queries) <= 26 + (connection.vendor == "postgresql")


def test_a_low_rate_budget_defers_the_run_instead_of_spending_what_orders_need(sandbox, tenant, rate_window):
    rate_window(20, 3600)
    followed_orders(sandbox, tenant, 3)
    staff = VismaClient(tenant, for_staff=True)
    for _ in range(11):  # more than half of the window used (10 % is staff's reserve)
        staff.get_customers(page_index=0, page_size=1)
    calls = list_calls(sandbox, tenant)
    result = refresh.refresh_tenant(tenant)
    assert result.outcome == refresh.DEFERRED and not result.ok and "orders go first" in result.error
    assert list_calls(sandbox, tenant) == calls  # nothing sent
    schedule = Schedule.objects.get(name=f"order-refresh-tenant-{tenant.pk}")
    assert schedule.func == "orders.tasks.refresh_tenant_orders" and schedule.args == repr((tenant.pk,))
    assert schedule.next_run > timezone.now() + timedelta(minutes=30)
    tenant.refresh_from_db()
    assert tenant.orders_refresh_error == "" and tenant.orders_refreshed_at is None  # deferred, not failed


def test_a_429_from_visma_is_tried_again_later_not_failed(sandbox, tenant):
    followed_orders(sandbox, tenant, 1)
    sandbox.state.set_faults([{"method": "GET", "path": "/api/v3/SalesOrders", "kind": "429", "retry_after": 7}])
    result = refresh.refresh_tenant(tenant)
    assert result.outcome == refresh.DEFERRED
    assert Schedule.objects.filter(name=f"order-refresh-tenant-{tenant.pk}").exists()
    tenant.refresh_from_db()
    assert tenant.orders_refresh_error == "" and tenant.orders_seen_until is None


def test_a_failed_run_keeps_the_watermark_and_says_why(sandbox, tenant):
    followed_orders(sandbox, tenant, 1)
    sandbox.state.set_faults([{"method": "GET", "path": "/api/v3/SalesOrders", "kind": "500"}])
    result = refresh.refresh_tenant(tenant)
    assert result.outcome == refresh.FAILED and "500" in result.error
    tenant.refresh_from_db()
    assert tenant.orders_refresh_error == result.error and tenant.orders_seen_until is None


def test_one_run_per_tenant_at_a_time(sandbox, tenant):
    followed_orders(sandbox, tenant, 1)
    lock = refresh._Lock(tenant.pk)
    assert lock.acquire()
    try:
        assert refresh.refresh_tenant(tenant).outcome == refresh.BUSY
        assert list_calls(sandbox) == 0
    finally:
        lock.release()
    assert refresh.refresh_tenant(tenant).outcome == refresh.REFRESHED


def test_a_wish_for_a_run_made_during_a_run_is_kept(sandbox, tenant, settings, monkeypatch):
    settings.VISMA_WEBHOOK_DEBOUNCE_SECONDS = 5
    followed_orders(sandbox, tenant, 1)
    name = f"order-refresh-tenant-{tenant.pk}"
    original = refresh._apply

    def wished_meanwhile(*args):
        original(*args)
        assert refresh.ask_for_refresh([tenant.pk]) == [tenant.pk]
        Schedule.objects.filter(name=name).update(repeats=0)  # its run came while this one held the lock

    monkeypatch.setattr(refresh, "_apply", wished_meanwhile)
    refresh.refresh_tenant(tenant)
    assert Schedule.objects.get(name=name).repeats == 1  # so it runs once more


def test_the_calls_are_in_the_api_log_as_order_refresh(sandbox, tenant):
    followed_orders(sandbox, tenant, 1)
    refresh.refresh_tenant(tenant)
    assert ApiCall.objects.filter(context=refresh.CONTEXT, path="/api/v3/SalesOrders").count() == 1


def test_an_older_list_row_does_not_overwrite_a_newer_read(sandbox, tenant):
    order = followed_orders(sandbox, tenant, 1)[0]
    later = timezone.now() + timedelta(days=1)
    SalesOrder.objects.filter(pk=order.pk).update(visma_status="Shipping", visma_last_modified=later)
    refresh.refresh_tenant(tenant)
    assert refreshed(order).visma_status == "Shipping"


def test_refresh_now_reads_the_order_and_its_lines_only_when_visma_changed_it(sandbox, tenant):
    order = followed_orders(sandbox, tenant, 1)[0]
    assert refresh.refresh_order(order) == ""
    order = refreshed(order)
    assert order.visma_status == "Open" and order.visma_etag and order.visma_lines[0]["inventoryId"] == "STOCK-100"
    assert order.visma_lines_read_for == order.visma_last_modified
    lines_path = f"/api/v3/SalesOrders/SO/{order.visma_number}/lines"
    reads = [e["path"] for e in sandbox.state.request_log() if e["method"] == "GET"]
    assert reads.count(lines_path) == 1

    assert refresh.refresh_order(order) == ""  # unchanged in Visma: one call
    reads = [e["path"] for e in sandbox.state.request_log() if e["method"] == "GET"]
    assert reads.count(lines_path) == 1 and len(reads) == 3

    change_in_visma(sandbox, order, status="Hold")
    assert refresh.refresh_order(order) == ""
    order = refreshed(order)
    assert order.visma_status == "Hold"
    reads = [e["path"] for e in sandbox.state.request_log() if e["method"] == "GET"]
    assert reads.count(lines_path) == 2


def test_refresh_now_says_what_went_wrong(sandbox, tenant):
    order = followed_orders(sandbox, tenant, 1)[0]
    SalesOrder.objects.filter(pk=order.pk).update(visma_number="999999")
    message = refresh.refresh_order(refreshed(order))
    assert "Visma found nothing there" in message
    assert refresh.refresh_order(make_order(tenant)) == "The order is not in Visma yet."


def test_list_rows_with_odd_values_are_read_safely():
    fields = refresh.list_fields(
        {
            "status": "Waiting for approval by the manager",
            "orderTotal": "1e400",
            "taxTotal": True,
            "currency": None,
            "lastModified": "nonsense",
            "shippingScheduledDate": "2026-12-01T00:00:00",
        }
    )
    assert fields["visma_status"] == "Waiting for approva…" and fields["visma_order_total"] is None
    assert fields["visma_tax_total"] is None and fields["visma_currency"] == ""
    assert fields["visma_last_modified"] is None and str(fields["visma_shipping_date"]) == "2026-12-01"
    assert refresh._moment("2026-11-30T08:01:02.1234567Z").microsecond == 123456


def test_migrate_keeps_the_refresh_schedule_at_the_configured_interval(settings):
    settings.ORDER_REFRESH_MINUTES = 7
    Schedule.objects.filter(name=ORDER_REFRESH).update(minutes=60, func="x.y")
    ensure_refresh_schedule()
    schedule = Schedule.objects.get(name=ORDER_REFRESH)
    assert (schedule.func, schedule.minutes, schedule.repeats) == ("orders.tasks.refresh_all_tenants", 7, -1)


def test_the_dashboard_shows_what_the_refresh_costs_of_the_rate_limit(
    sandbox, three_tenants, viewer_client, settings, django_assert_max_num_queries
):
    settings.ORDER_REFRESH_MINUTES = 5
    followed_orders(sandbox, three_tenants[0], 3)
    followed_orders(sandbox, three_tenants[1], 1)
    tasks.refresh_all_tenants()
    with django_assert_max_num_queries(14):
        page = viewer_client.get("/").content.decode()
    assert (
        "Order refresh: 24 list calls an hour for 2 tenants with orders to follow (one every 5 minutes each, "
        "however many orders are open; a list of more than one page, and notifications from Visma, add a few); "
        "2 made in the last hour." in page
    )
    assert page.count("data-refresh-cost>Order refresh: 12 calls an hour; ") == 2
    assert f'?tenant={three_tenants[0].pk}&amp;context=order+refresh">1 in the last hour</a>' in page


def test_a_first_refresh_asked_before_visma_s_clock_was_known_asks_again_in_visma_s_time(sandbox, tenant):
    sandbox.state.clock_offset = -3600.0  # Visma's clock an hour behind the portal's
    orders = followed_orders(sandbox, tenant, 2)
    result = refresh.refresh_tenant(tenant)
    assert result.read == 2 and result.calls == 2  # the first list was asked in the portal's time, then again
    assert all(refreshed(order).visma_status == "Open" for order in orders)
    assert refresh.refresh_tenant(tenant).calls == 1  # from the watermark on, Visma's own times are asked


def test_an_order_visma_dated_before_the_watermark_is_still_read_once(sandbox, tenant):
    followed_orders(sandbox, tenant, 1)
    refresh.refresh_tenant(tenant)
    late = followed_orders(sandbox, tenant, 1)[0]  # Visma dated it before saving it, and the watermark moved on
    Tenant.objects.filter(pk=tenant.pk).update(orders_seen_until=timezone.now() + timedelta(minutes=10))
    assert refresh.refresh_tenant(tenant).read == 2
    assert refreshed(late).visma_status == "Open"
    assert refresh.refresh_tenant(tenant).read == 0  # read once: from now on the watermark alone counts
