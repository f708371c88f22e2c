"""Whether a tenant's Visma can be reached: a circuit breaker over calls that could not even be sent.

After `VISMA_UNREACHABLE_AFTER_FAILURES` such calls in a row the tenant's sending pauses: its orders stay queued, one
call (a probe) is let through every `VISMA_UNREACHABLE_RETRY_SECONDS`, one incident is open for the whole outage, and
one e-mail says when it is over. Calls that reached Visma, whatever it answered, close the breaker.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from . import notifications
from .models import Tenant

PAUSED_PREFIX = "Visma unreachable"


def _key(tenant: Tenant) -> str:
    return f"unreachable:{tenant.pk}"


def retry_every() -> int:
    return settings.VISMA_UNREACHABLE_RETRY_SECONDS


def waiting_for_probe(tenant: Tenant) -> bool:
    """Paused, and the next probe is not due yet (claims nothing)."""
    probe_at = tenant.unreachable_probe_at
    return tenant.unreachable_since is not None and probe_at is not None and probe_at > timezone.now()


def paused_until(tenant: Tenant) -> datetime | None:
    """When the next probe may go, if the tenant's sending is paused and this caller did not win the probe.

    The first caller at or after the probe time claims it (one conditional UPDATE) and is let through."""
    if tenant.unreachable_since is None:
        return None
    now = timezone.now()
    next_probe = now + timedelta(seconds=retry_every())
    claimed = Tenant.objects.filter(pk=tenant.pk, unreachable_probe_at__lte=now).update(unreachable_probe_at=next_probe)
    if claimed:
        tenant.unreachable_probe_at = next_probe
        return None
    tenant.refresh_from_db(fields=["unreachable_since", "unreachable_probe_at"])
    if tenant.unreachable_since is None:  # it recovered a moment ago
        return None
    return tenant.unreachable_probe_at


def failed(tenant: Tenant, reason: str) -> None:
    """A call that could not be sent at all (refused, no such host, TLS handshake failed)."""
    now = timezone.now()
    Tenant.objects.filter(pk=tenant.pk).update(unreachable_failures=F("unreachable_failures") + 1)
    tenant.refresh_from_db(fields=["unreachable_failures", "unreachable_since", "unreachable_probe_at"])
    if tenant.unreachable_failures < settings.VISMA_UNREACHABLE_AFTER_FAILURES:
        return
    probe_at = now + timedelta(seconds=retry_every())
    opened = Tenant.objects.filter(pk=tenant.pk, unreachable_since__isnull=True).update(
        unreachable_since=now, unreachable_probe_at=probe_at
    )
    if not opened:
        Tenant.objects.filter(pk=tenant.pk).update(unreachable_probe_at=probe_at)
    tenant.refresh_from_db(fields=["unreachable_since", "unreachable_probe_at"])
    notifications.failed(
        _key(tenant),
        kind=notifications.Incident.Kind.UNREACHABLE,
        tenant_id=tenant.pk,
        subject=f"Visma is unreachable for {tenant.name}",
        detail=(
            f"{reason}\nSince {timezone.localtime(tenant.unreachable_since):%Y-%m-%d %H:%M} nothing could be sent. "
            f"Orders stay queued and are sent once Visma answers again; the portal tries every {retry_every()} s."
        ),
        link=reverse("tenants:tenant-detail", args=[tenant.pk]),
    )


def succeeded(tenant: Tenant) -> None:
    """A call reached Visma: close the breaker if it was counting. Free when nothing was wrong."""
    if not tenant.unreachable_failures and tenant.unreachable_since is None:
        return
    closed = {"unreachable_failures": 0, "unreachable_since": None, "unreachable_probe_at": None}
    was_paused = Tenant.objects.filter(pk=tenant.pk, unreachable_since__isnull=False).update(**closed)
    if not was_paused:
        Tenant.objects.filter(pk=tenant.pk).update(unreachable_failures=0)
    tenant.unreachable_failures, tenant.unreachable_since, tenant.unreachable_probe_at = 0, None, None
    if was_paused:
        notifications.recovered(_key(tenant), announce=f"Visma is reachable again for {tenant.name}")


def describe(tenant: Tenant) -> str:
    """For the dashboard and the tenant page; empty when nothing is wrong."""
    if tenant.unreachable_since is None:
        return ""
    return (
        f"{PAUSED_PREFIX} since {timezone.localtime(tenant.unreachable_since):%Y-%m-%d %H:%M}, "
        f"retrying every {retry_every()} s; orders wait in the queue."
    )
