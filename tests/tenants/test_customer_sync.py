from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from tenants import sync
from tenants.customer_models import Customer, CustomerSync
from tenants.tasks import sync_all_tenants

pytestmark = pytest.mark.django_db


def run(tenant, **kwargs) -> CustomerSync:
    started = sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False)
    return sync.run_sync(started.pk, **kwargs)


def test_sync_follows_every_page_and_stores_each_customer(settings, sandbox, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 7
    result = run(tenant)
    expected = len(sandbox.state.customers(tenant.tenant_id.__str__()))
    assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
    assert result.fetched == result.created == expected == Customer.objects.filter(tenant=tenant).count()
    assert result.pages == -(-expected // 7)
    assert result.total == expected


def test_customer_fields_come_from_the_customer_dto(sandbox, tenant):
    run(tenant)
    dto = sandbox.state.customers(str(tenant.tenant_id))[0]
    customer = Customer.objects.get(tenant=tenant, number=dto["id"])
    assert customer.name == dto["name"]
    assert customer.status == dto["status"]
    assert customer.internal_id == dto["internalId"]
    assert customer.location_id == (dto.get("defaultLocation") or {}).get("id", "") or ""


def test_second_sync_reports_new_changed_and_removed_customers(sandbox, tenant):
    run(tenant)
    tenant_id = str(tenant.tenant_id)
    first, second = sandbox.state.customers(tenant_id)[:2]
    sandbox.state.update_customer(tenant_id, first["id"], name="Renamed Kunde AS")
    sandbox.state.remove_customer(tenant_id, second["id"])
    sandbox.state.add_customer(tenant_id, id="99999", name="Brand New AB")

    result = run(tenant)

    assert (result.created, result.updated, result.removed) == (1, 1, 1)
    assert Customer.objects.get(tenant=tenant, number=first["id"]).name == "Renamed Kunde AS"
    removed = Customer.objects.get(tenant=tenant, number=second["id"])
    assert removed.removed_at is not None and not removed.in_visma


def test_a_customer_that_comes_back_is_no_longer_removed(sandbox, tenant):
    run(tenant)
    tenant_id = str(tenant.tenant_id)
    dto = sandbox.state.customers(tenant_id)[0]
    sandbox.state.remove_customer(tenant_id, dto["id"])
    run(tenant)
    sandbox.state.add_customer(tenant_id, **{k: v for k, v in dto.items() if k in ("id", "name", "status")})
    run(tenant)
    assert Customer.objects.get(tenant=tenant, number=dto["id"]).removed_at is None


def test_empty_tenant_syncs_cleanly(sandbox, tenant):
    tenant_id = str(tenant.tenant_id)
    for dto in list(sandbox.state.customers(tenant_id)):
        sandbox.state.remove_customer(tenant_id, dto["id"])
    result = run(tenant)
    assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
    assert result.fetched == 0 and result.pages == 1


def test_rate_limit_mid_sync_waits_for_retry_after_and_goes_on(settings, sandbox, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 10
    sandbox.state.set_faults(
        [{"method": "GET", "path": "/api/v3/Customers", "kind": "429", "sequence": [False, True], "retry_after": 2}]
    )
    waits: list[float] = []
    result = run(tenant, sleep=waits.append)
    assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
    assert waits == [2]
    assert result.fetched == len(sandbox.state.customers(str(tenant.tenant_id)))


def test_server_error_mid_sync_keeps_what_was_fetched_and_says_where_it_stopped(settings, sandbox, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 10
    run(tenant)
    tenant_id = str(tenant.tenant_id)
    sandbox.state.remove_customer(tenant_id, sandbox.state.customers(tenant_id)[-1]["id"])
    sandbox.state.set_faults(
        [{"method": "GET", "path": "/api/v3/Customers", "kind": "500", "sequence": [False, True, True, True, True]}]
    )
    result = run(tenant)
    assert result.outcome == CustomerSync.Outcome.FAILED
    assert "Stopped at page 2 after 10 customers" in result.error
    assert result.removed == 0
    assert not Customer.objects.filter(tenant=tenant, removed_at__isnull=False).exists()


def test_token_failure_fails_the_sync_with_visma_guidance(sandbox, tenant):
    sandbox.state.rotate_client_secret("a-secret-the-portal-does-not-know")
    result = run(tenant)
    assert result.outcome == CustomerSync.Outcome.FAILED
    assert "invalid_client" in result.error


def test_a_second_delivery_of_the_same_task_does_nothing(sandbox, tenant):
    started = sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False)
    sync.run_sync(started.pk)
    requests_before = len(sandbox.state.request_log())
    again = sync.run_sync(started.pk)
    assert again.outcome == CustomerSync.Outcome.SUCCEEDED
    assert len(sandbox.state.request_log()) == requests_before


def test_only_one_sync_per_tenant_runs_at_a_time(tenant):
    sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False)
    with pytest.raises(sync.SyncAlreadyRunning):
        sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False)


def test_a_stale_running_sync_stops_blocking(tenant):
    from datetime import timedelta

    from django.utils import timezone

    stale = sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False)
    CustomerSync.objects.filter(pk=stale.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False)
    stale.refresh_from_db()
    assert stale.outcome == CustomerSync.Outcome.FAILED and "stopped responding" in stale.error


def test_sync_now_enqueues_after_commit_and_a_second_click_is_refused(
    clerk_client, tenant, django_capture_on_commit_callbacks
):
    url = reverse("tenants:sync-start", args=[tenant.pk])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = clerk_client.post(url, follow=True)
    assert len(callbacks) == 1
    assert b"Customer sync of" in first.content and b"started" in first.content
    second = clerk_client.post(url, follow=True)
    assert b"already running" in second.content
    assert CustomerSync.objects.filter(tenant=tenant).count() == 1


def test_sync_now_through_htmx_returns_the_live_progress_partial(clerk_client, tenant):
    response = clerk_client.post(reverse("tenants:sync-start", args=[tenant.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html and "Syncing" in html


def test_viewer_may_not_start_a_sync(viewer_client, tenant):
    response = viewer_client.post(reverse("tenants:sync-start", args=[tenant.pk]))
    assert response.status_code == 403
    assert not CustomerSync.objects.exists()


def test_schedule_starts_one_sync_per_readable_tenant(tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        assert sync_all_tenants() == "1 started, 0 already running"
        assert sync_all_tenants() == "0 started, 1 already running"


def test_schedule_exists_after_migrate():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="customer-sync")
    assert schedule.func == "tenants.tasks.sync_all_tenants"
    assert schedule.minutes == 60


def test_command_syncs_in_the_foreground_and_prints_a_summary(sandbox, tenant):
    out = StringIO()
    call_command("sync_customers", "--tenant", str(tenant.tenant_id), stdout=out, stderr=StringIO())
    assert f"{tenant.name}: " in out.getvalue() and "fetched" in out.getvalue()
    assert Customer.objects.filter(tenant=tenant).exists()


def test_command_fails_with_exit_1_when_the_sync_fails(sandbox, tenant):
    sandbox.state.rotate_client_secret("unknown-to-the-portal")
    with pytest.raises(CommandError, match="1 of 1 tenant sync failed"):
        call_command("sync_customers", "--tenant", str(tenant.tenant_id), stdout=StringIO(), stderr=StringIO())


def test_command_rejects_a_malformed_tenant_id():
    with pytest.raises(CommandError, match="not a valid tenant ID"):
        call_command("sync_customers", "--tenant", "not-a-uuid", stdout=StringIO(), stderr=StringIO())


def test_a_token_expiring_mid_sync_is_refreshed_once_and_the_sync_goes_on(settings, sandbox, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 10
    sandbox.state.set_faults(
        [{"method": "GET", "path": "/api/v3/Customers", "kind": "expired_token", "sequence": [False, True]}]
    )
    result = run(tenant)
    assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
    assert result.fetched == 40
    assert sandbox.state.token_request_count("portal-demo-app", str(tenant.tenant_id)) == 2


def test_a_successful_syncs_paging_note_shows_on_the_status_partial_and_the_tenant_page(viewer_client, tenant):
    note = "Visma served 100 customers per page although 1,000 were asked; used 100."
    CustomerSync.objects.create(tenant=tenant, trigger=CustomerSync.Trigger.MANUAL, outcome="succeeded", note=note)
    for url in [reverse("tenants:sync-status", args=[tenant.pk]), reverse("tenants:tenant-detail", args=[tenant.pk])]:
        html = viewer_client.get(url).content.decode()
        assert "Synced" in html and note in html


def test_a_failed_sync_shows_its_note_once_as_part_of_the_error(viewer_client, tenant):
    note = "Visma refused pages of 1,000, 500 and 100."
    CustomerSync.objects.create(
        tenant=tenant, trigger=CustomerSync.Trigger.MANUAL, outcome="failed", note=note, error=f"Stopped. {note}"
    )
    html = viewer_client.get(reverse("tenants:sync-status", args=[tenant.pk])).content.decode()
    assert "Sync failed" in html and html.count(note) == 1


def test_command_prints_the_paging_note_in_its_success_line(settings, sandbox, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 1000
    sandbox.state.silent_page_cap = 10
    try:
        out = StringIO()
        call_command("sync_customers", "--tenant", str(tenant.tenant_id), stdout=out, stderr=StringIO())
    finally:
        sandbox.state.reset()
    line = out.getvalue().strip()
    assert line.startswith(f"{tenant.name}: 40 fetched in 4 pages, 40 new")
    assert line.endswith("removed in Visma. Visma served 10 customers per page although 1,000 were asked; used 10.")
