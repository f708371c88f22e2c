"""One exception family for every failed Visma call; messages never contain a secret or a token."""

from __future__ import annotations


class VismaError(Exception):
    """A failed call to Visma, with what staff and code need."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        field_errors: dict | None = None,
        details: list | None = None,
        retryable: bool = False,
        hint: str = "",
    ):
        super().__init__(message)
        self.message, self.status, self.code, self.request_id = message, status, code, request_id
        self.field_errors, self.details = field_errors or {}, details or []
        self.retryable, self.hint = retryable, hint

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"(Visma code {self.code})")
        if self.hint:
            parts.append(self.hint)
        return " ".join(parts)


class TokenRejected(VismaError):
    """Visma Connect refused the credentials for good: a person has to fix the application or the tenant."""


class Unauthorized(VismaError):
    pass


class Forbidden(VismaError):
    pass


class NotFound(VismaError):
    pass


class ValidationRejected(VismaError):
    pass


class ServerError(VismaError):
    pass


class VersionConflict(VismaError):
    """412: the order changed in Visma since the version sent as If-Match was read. Nothing was changed."""


class VersionMissing(VismaError):
    """428: Visma wanted an If-Match header and none was sent: a bug in the portal, never retried."""


class Refused(VismaError):
    """The portal refused to make the call (deactivated, host not allowed, secret not re-entered): nothing was sent."""


class VismaUnavailable(VismaError):
    """Nothing was done: safe to try again later. `unreachable`: not one byte of the request left this machine
    (connection refused, name not found, TLS handshake failed), so Visma is unreachable rather than failing."""

    def __init__(self, message: str, *, unreachable: bool = False, **kwargs):
        kwargs.setdefault("retryable", True)
        super().__init__(message, **kwargs)
        self.unreachable = unreachable


class OutcomeUnknown(VismaError):
    """A write was sent but no usable answer came back: it may have been carried out."""


class RateLimited(VismaError):
    def __init__(self, message: str, *, retry_after: int, **kwargs):
        super().__init__(message, retryable=True, **kwargs)
        self.retry_after = retry_after


class Throttled(RateLimited):
    """The portal held a background call back to stay within Visma's rate limit: nothing was sent."""
