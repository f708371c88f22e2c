"""Visma's webhooks as a doorbell: a notification only makes the portal refresh a tenant's orders sooner.

Nothing in a notification is trusted. Its body is read up to VISMA_WEBHOOK_MAX_BYTES and must be JSON (an object or
an array); the only thing looked for in it is a tenant id (a key named like `tenantId` at any depth whose value is a
UUID) among the active tenants of the application the URL's token belongs to. Without one, every tenant of that
application with orders to follow is refreshed. Each tenant takes at most VISMA_WEBHOOK_PER_MINUTE notifications a
minute, and a burst of them makes one refresh (`orders.refresh.ask_for_refresh`).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from core import per_minute
from core.audit import SECRET_CHANGED, record_update
from tenants.models import ServiceApplication, Tenant, new_webhook_token

from . import refresh

logger = logging.getLogger(__name__)

PUBLISHER = "visma.net.erp.salesorderservice"
EVENTS = ("SALESORDER_CREATED", "SALESORDER_UPDATED")
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
TENANT_KEY = re.compile(r"[_\-\s]")
MOST_TENANT_IDS = 20  # a notification names one tenant; more than this many ids are not looked at
ACCEPTED, NOT_JSON, TOO_MANY = 202, 400, 429


@dataclass
class Outcome:
    status: int
    retry_after: int | None = None
    tenants: list[int] = field(default_factory=list)  # the tenants a notification was taken in for
    scheduled: list[int] = field(default_factory=list)  # of those, the ones a refresh run was scheduled for now


def application_for(token: str) -> ServiceApplication | None:
    """The active application whose webhook token this is. Every application's token is compared in constant time,
    so how long the answer takes says nothing about how much of a token was right."""
    if not TOKEN_SHAPE.fullmatch(token or ""):
        return None
    found = None
    for application in ServiceApplication.objects.only("pk", "name", "active", "webhook_token"):
        if secrets.compare_digest(application.webhook_token.encode(), token.encode()) and application.active:
            found = application
    return found


def read_body(request) -> bytes | None:
    """At most VISMA_WEBHOOK_MAX_BYTES of the body; None when it is (or says it is) larger. A body sent in chunks
    (no Content-Length, as a delivery may come) is read from the server's de-chunked input, up to the same limit."""
    limit = settings.VISMA_WEBHOOK_MAX_BYTES
    content_length = request.META.get("CONTENT_LENGTH")
    try:
        declared = int(content_length or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    chunked = not content_length and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    stream = request.META["wsgi.input"] if chunked else request
    body = stream.read(limit + 1)
    return None if len(body) > limit else body


def parse(body: bytes) -> dict | list | None:
    """The notification as JSON (an object or an array), or None when it is not."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict | list) else None


def tenant_ids(document) -> set[uuid.UUID]:
    """UUIDs under keys named like a tenant id (tenantId, TenantId, tenant_id, …), anywhere in the document."""
    found: set[uuid.UUID] = set()
    stack = [document]
    while stack and len(found) < MOST_TENANT_IDS:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if _is_tenant_key(key) and isinstance(value, str) and (parsed := _uuid(value)):
                    found.add(parsed)
                if isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(item for item in node if isinstance(item, dict | list))
    return found


def _is_tenant_key(key) -> bool:
    return isinstance(key, str) and len(key) < 40 and TENANT_KEY.sub("", key).lower() == "tenantid"


def _uuid(value: str) -> uuid.UUID | None:
    if len(value) > 64:
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def receive(application: ServiceApplication, document) -> Outcome:
    """Take in one notification: which tenants it concerns, the rate limit, when it arrived, and a refresh soon."""
    active = Tenant.objects.filter(application=application, active=True)
    named = list(active.filter(tenant_id__in=tenant_ids(document)).values_list("pk", flat=True))
    # Unknown or no tenant: every tenant of the application is concerned, and they share one limit.
    limits = [f"tenant:{pk}" for pk in named] or [f"application:{application.pk}"]
    if (wait := _over_limit(limits)) is not None:
        return Outcome(TOO_MANY, retry_after=wait)
    concerned = named or list(active.values_list("pk", flat=True))
    Tenant.objects.filter(pk__in=concerned).update(last_webhook_at=timezone.now())
    to_refresh = named or list(refresh.tenants_to_refresh(application.pk).values_list("pk", flat=True))
    return Outcome(ACCEPTED, tenants=concerned, scheduled=refresh.ask_for_refresh(to_refresh))


def _over_limit(keys: list[str]) -> int | None:
    """Count one notification against each key's minute; the seconds until the minute ends when any is over."""
    over, wait = False, None
    for key in keys:
        notifications, wait = per_minute.count(f"visma-webhook:{key}")
        over = over or notifications > settings.VISMA_WEBHOOK_PER_MINUTE
    return wait if over else None


def rotate_token(application: ServiceApplication, actor=None) -> None:
    """A new webhook URL for the application: the old one answers 404 from now on. The audit trail says the token
    changed, never its value."""
    application.webhook_token = new_webhook_token()
    application.webhook_token_rotated_at = timezone.now()
    application.save(update_fields=["webhook_token", "webhook_token_rotated_at", "updated_at"])
    record_update(application, {"webhook_token": ("", SECRET_CHANGED)}, actor=actor)
