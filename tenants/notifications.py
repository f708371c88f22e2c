"""Incidents and the e-mail that announces them: once per incident, never once per retry.

An incident opens on the first failure of something (a tenant's token requests, its customer sync, an order) and
closes on the next success. Only opening it sends mail, to `ALERT_EMAILS`; every later failure while it is open just
counts. Mail text is built from the portal's own error messages, which never contain secrets, and is scrubbed once
more on the way out. A worker sends it (`tenants.tasks.send_incident_mail`), never the request or task that failed:
whether it went, or why not, is recorded on the incident.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from core.logging import redact

logger = logging.getLogger(__name__)


class Incident(models.Model):
    """Something that needs a person, from its first failure to the next success."""

    class Kind(models.TextChoices):
        TOKEN = "token", "Token requests failing"
        SYNC = "sync", "Customer sync failing"
        ORDER = "order", "Order failed"
        UNREACHABLE = "unreachable", "Visma unreachable"

    key = models.CharField(max_length=100, help_text='What failed, e.g. "token:3" or "order:17".')
    kind = models.CharField(max_length=12, choices=Kind.choices)
    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=255)
    detail = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True, help_text="Where it is fixed.")
    opened_at = models.DateTimeField(default=timezone.now)
    last_failure_at = models.DateTimeField(default=timezone.now)
    failures = models.PositiveIntegerField(default=1)
    closed_at = models.DateTimeField(null=True, blank=True)
    mailed_to = models.TextField(blank=True, help_text="Who was told when it opened.")
    mailed_at = models.DateTimeField(null=True, blank=True, help_text="When the last e-mail about it was sent.")
    mail_error = models.CharField(
        max_length=500, blank=True, help_text="Why the last e-mail about it could not be sent; empty once one was."
    )

    class Meta:
        ordering = ["-opened_at"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(closed_at__isnull=True), name="one_open_incident_per_key"
            )
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


def failed(
    key: str,
    *,
    kind: str,
    subject: str,
    detail: str = "",
    link: str = "",
    tenant_id: int | None = None,
    since: datetime | None = None,
) -> Incident | None:
    """Count a failure. Opens an incident and mails about it when none is open; returns it, or None if one was.

    `since`: an incident opened before this moment belongs to an earlier episode (an order sent again) and is closed.
    """
    now = timezone.now()
    if since is not None:
        Incident.objects.filter(key=key, closed_at__isnull=True, opened_at__lt=since).update(closed_at=now)
    counted = Incident.objects.filter(key=key, closed_at__isnull=True).update(
        failures=F("failures") + 1, last_failure_at=now, detail=redact(detail)[:4000]
    )
    if counted:
        return None
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                key=key,
                kind=kind,
                tenant_id=tenant_id,
                subject=redact(subject)[:255],
                detail=redact(detail)[:4000],
                link=link[:300],
                opened_at=now,
                last_failure_at=now,
                mailed_to=", ".join(settings.ALERT_EMAILS),
            )
    except IntegrityError:  # another worker opened it a moment ago: theirs is the one that mails
        Incident.objects.filter(key=key, closed_at__isnull=True).update(failures=F("failures") + 1, last_failure_at=now)
        return None
    _mail(incident)
    return incident


def recovered(key: str, *, announce: str = "") -> int:
    """The next success: close the open incident, if any (one UPDATE). `announce`: also mail that it is over."""
    open_incident = Incident.objects.filter(key=key, closed_at__isnull=True).first() if announce else None
    closed = Incident.objects.filter(key=key, closed_at__isnull=True).update(closed_at=timezone.now())
    if closed and open_incident is not None:
        open_incident.subject = announce
        open_incident.detail = (
            f"Resolved after {open_incident.failures} failures since "
            f"{timezone.localtime(open_incident.opened_at):%Y-%m-%d %H:%M %Z}."
        )
        _mail(open_incident)
    return closed


def _mail(incident: Incident) -> None:
    """Hand the e-mail about `incident` to a worker."""
    recipients = list(settings.ALERT_EMAILS)
    if not recipients:
        logger.warning("Incident opened (ALERT_EMAILS is empty, nobody mailed): %s", incident.subject)
        return
    link = (settings.PORTAL_URL.rstrip("/") + incident.link) if incident.link else ""
    lines = [
        incident.subject,
        "",
        incident.detail or "No further detail.",
        "",
        f"Where to fix it: {link}" if link else "",
        f"Opened {timezone.localtime(incident.opened_at):%Y-%m-%d %H:%M %Z}. You get one e-mail per incident: further "
        "failures are counted, not mailed, until the next success closes it.",
    ]
    subject = redact(f"[Visma portal] {incident.subject}")[:200]
    try:
        async_task("tenants.tasks.send_incident_mail", incident.pk, subject, redact("\n".join(lines)), recipients)
    except Exception as exc:  # the broker is down: the failure being reported must still be recorded
        logger.exception("Could not queue the e-mail for incident %s", incident.pk)
        _mail_failed(incident.pk, f"Not queued for sending: {exc.__class__.__name__}")


def send_mail_now(incident_id: int, subject: str, message: str, recipients: list[str]) -> str:
    """In a worker: send, and record on the incident whether it went."""
    try:
        send_mail(subject=subject, message=message, from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=recipients)
    except Exception as exc:
        logger.exception("Could not send the e-mail for incident %s", incident_id)
        _mail_failed(incident_id, f"{exc.__class__.__name__}: {exc}")
        return f"not sent: {exc.__class__.__name__}"
    Incident.objects.filter(pk=incident_id).update(mailed_at=timezone.now(), mail_error="")
    return f"mailed {', '.join(recipients)}"


def _mail_failed(incident_id: int, reason: str) -> None:
    Incident.objects.filter(pk=incident_id).update(mail_error=redact(reason)[:500])


# --- what the tenants app reports -----------------------------------------------------------------------------------
def token_request_result(tenant, *, ok: bool, reason: str = "") -> None:
    key = f"token:{tenant.pk}"
    if ok:
        recovered(key)
        return
    failed(
        key,
        kind=Incident.Kind.TOKEN,
        tenant_id=tenant.pk,
        subject=f"Token requests for {tenant.name} are failing",
        detail=f"{reason}\nUntil this is fixed no order or customer sync of {tenant.name} can reach Visma.",
        link=reverse("tenants:tenant-detail", args=[tenant.pk]),
    )


def customer_sync_finished(sync) -> None:
    """A failed sync opens the tenant's sync incident; a deferred one is not a failure and leaves it as it is."""
    key = f"sync:{sync.tenant_id}"
    if sync.outcome == "succeeded":
        recovered(key)
    elif sync.outcome == "failed":
        failed(
            key,
            kind=Incident.Kind.SYNC,
            tenant_id=sync.tenant_id,
            subject=f"Customer sync of {sync.tenant} failed",
            detail=sync.error,
            link=reverse("tenants:tenant-detail", args=[sync.tenant_id]),
        )
