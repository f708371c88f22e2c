"""The API call log: one row per request to Visma (token or API), written by `tenants.visma.record_call`.

A row holds what staff need to see what happened (tenant, method, path, status, duration, Visma's request id and
rate-limit headers, outcome) and a short `context` naming the work it belonged to ("order VOP-…", "customer sync 12"),
set with `context(...)`. It never holds a query string, a body, a header, a secret or a token.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


class ApiCall(models.Model):
    """One HTTP request the portal made to Visma Connect or the Sales Order API."""

    class Kind(models.TextChoices):
        TOKEN = "token", "Token"
        API = "api", "API"

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        REJECTED = "rejected", "Rejected (4xx)"
        SERVER_ERROR = "server_error", "Server error (5xx)"
        NO_ANSWER = "no_answer", "No answer"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="api_calls")
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.API)
    method = models.CharField(max_length=7)
    path = models.CharField(max_length=200, help_text="Path only: never the query string.")
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    request_id = models.CharField("Visma request id", max_length=64, blank=True)
    rate_limit_limit = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_remaining = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_reset_at = models.DateTimeField(null=True, blank=True, help_text="When Visma's current window ends.")
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    context = models.CharField(max_length=100, blank=True, help_text="The work the call belonged to.")

    class Meta:
        ordering = ["-started_at", "-pk"]
        default_permissions = ("view",)
        verbose_name = "API call"
        indexes = [
            models.Index(fields=["tenant", "-started_at"], name="apicall_tenant_recent"),
            models.Index(fields=["context", "-started_at"], name="apicall_context_recent"),
            models.Index(fields=["duration_ms", "id"], name="apicall_by_duration"),
            models.Index(fields=["started_at", "id"], name="apicall_by_time"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status or self.get_outcome_display()}"

    @property
    def status_class(self) -> str:
        return f"{self.status // 100}xx" if self.status else ""


def outcome_for(status: int | None) -> str:
    if status is None:
        return ApiCall.Outcome.NO_ANSWER
    if status >= 500:
        return ApiCall.Outcome.SERVER_ERROR
    if status >= 400:
        return ApiCall.Outcome.REJECTED
    return ApiCall.Outcome.OK


# --- context --------------------------------------------------------------------------------------------------------
@dataclass
class Scope:
    """The work calls belong to. Helper threads (the sync fetches its next page in one) never write to the database:
    their rows wait here and the thread that opened the scope writes them."""

    label: str
    thread_id: int = field(default_factory=threading.get_ident)
    pending: list[ApiCall] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> list[ApiCall]:
        with self.lock:
            rows, self.pending = self.pending, []
        return rows


_scope: ContextVar[Scope | None] = ContextVar("visma_api_log_scope", default=None)


def current_scope() -> Scope | None:
    return _scope.get()


@contextlib.contextmanager
def context(label: str):
    """Label every Visma call made inside the block, e.g. `with api_log.context(f"order {order.reference}")`."""
    scope = Scope(label[:100])
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)
        _write(scope.take())


def in_context(label: Callable[..., str]):
    """Decorator form of `context`; `label` gets the function's arguments: `@in_context(lambda pk: f"sync {pk}")`."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with context(label(*args, **kwargs)):
                return function(*args, **kwargs)

        return wrapper

    return decorate


def record(
    *,
    tenant_id: int,
    kind: str,
    method: str,
    path: str,
    status: int | None,
    duration_ms: int,
    request_id: str | None = None,
    rate_limit_limit: int | None = None,
    rate_limit_remaining: int | None = None,
    rate_limit_reset: int | None = None,
    scope: Scope | None = None,
) -> ApiCall:
    """Store one call: one INSERT, or none when called from a helper thread (its scope's thread writes it later)."""
    scope = scope or current_scope()
    now = timezone.now()
    row = ApiCall(
        tenant_id=tenant_id,
        started_at=now - timedelta(milliseconds=duration_ms),
        kind=kind,
        method=method[:7],
        path=path.split("?", 1)[0][:200],
        status=status,
        duration_ms=max(0, duration_ms),
        request_id=(request_id or "")[:64],
        rate_limit_limit=_non_negative(rate_limit_limit),
        rate_limit_remaining=_non_negative(rate_limit_remaining),
        rate_limit_reset_at=now + timedelta(seconds=rate_limit_reset) if rate_limit_reset is not None else None,
        outcome=outcome_for(status),
        context=scope.label if scope else "",
    )
    if scope and scope.thread_id != threading.get_ident():
        with scope.lock:
            scope.pending.append(row)
        return row
    _write([*(scope.take() if scope else []), row])
    return row


def _write(rows: list[ApiCall]) -> None:
    if not rows:
        return
    # Inside a transaction a savepoint keeps a failed write from breaking it; in autocommit nothing needs keeping.
    guard = transaction.atomic() if transaction.get_connection().in_atomic_block else contextlib.nullcontext()
    try:
        with guard:
            if len(rows) == 1:
                rows[0].save(force_insert=True)
            else:
                ApiCall.objects.bulk_create(rows)
    except DatabaseError:
        # The log must never break the call it describes.
        logger.warning("Could not write %d API log row(s)", len(rows), exc_info=True)


def _non_negative(value: int | None) -> int | None:
    return value if value is not None and value >= 0 else None


def prune(days: int | None = None) -> int:
    """Delete rows older than `API_LOG_DAYS` (the schedule runs this daily). Returns how many went."""
    cutoff = timezone.now() - timedelta(days=settings.API_LOG_DAYS if days is None else days)
    deleted, _ = ApiCall.objects.filter(started_at__lt=cutoff).delete()
    return deleted


def prune_old_calls() -> str:
    """The daily schedule (created by `migrate`)."""
    return f"{prune()} API log rows older than {settings.API_LOG_DAYS} days deleted"
