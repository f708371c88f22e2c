"""django-q2 entry points: thin, they take ids and call services."""

from __future__ import annotations

from . import notifications, sync


def sync_customers(sync_id: int) -> str:
    result = sync.run_sync(sync_id)
    return f"{result.get_outcome_display()}: {result.fetched} fetched, {result.created} new, {result.removed} removed"


def sync_tenant(tenant_id: int) -> str:
    """A sync deferred for the rate limit, started again once Visma's window has turned."""
    from .models import Tenant

    tenant = Tenant.objects.filter(pk=tenant_id, active=True, can_read=True, application__active=True).first()
    if tenant is None:
        return "tenant gone, deactivated or not readable"
    try:
        started = sync.start_sync(tenant, trigger=sync.CustomerSync.Trigger.SCHEDULE)
    except sync.SyncAlreadyRunning:
        return "already running"
    return f"sync {started.pk} started"


def sync_all_tenants() -> str:
    """The schedule: one sync per active tenant that may read, skipping tenants whose sync is still running."""
    from .models import Tenant

    started = skipped = 0
    for tenant in Tenant.objects.filter(active=True, can_read=True, application__active=True):
        try:
            sync.start_sync(tenant, trigger=sync.CustomerSync.Trigger.SCHEDULE)
            started += 1
        except sync.SyncAlreadyRunning:
            skipped += 1
    return f"{started} started, {skipped} already running"


def send_incident_mail(incident_id: int, subject: str, message: str, recipients: list[str]) -> str:
    return notifications.send_mail_now(incident_id, subject, message, recipients)
