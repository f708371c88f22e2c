"""THE Visma client: Visma Connect tokens and the Sales Order API v3. The only module that imports requests.

Every call has a timeout, GETs are retried on 502/503/504, POSTs never are, and no secret or token ever reaches a
log line or an exception message.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from . import api_log, notifications
from .crypto import EncryptionKeyError
from .models import Tenant

logger = logging.getLogger(__name__)
USER_AGENT = "visma-order-portal/0.1"

TOKEN_HINTS = {
    "invalid_client": "Visma rejected the client ID or secret. Generate a new secret in the Visma Developer Portal "
    "(Credentials tab) and save it on the service application.",
    "invalid_scope": "The SalesOrder API integration with read/write scopes is missing on the application, or this "
    "tenant has not approved those scopes. Check the API integration in the Developer Portal and the tenant's scopes.",
    "invalid_tenant": "The customer's Integration Administrator has not approved the application in the Visma App "
    "Store. Send them the invitation code from the Developer Portal; approval can take 10-15 minutes to apply.",
    "unsupported_grant_type": "Visma Connect refused the client_credentials grant for this application.",
    "invalid_request": "Visma Connect could not read the token request.",
}


class VismaError(Exception):
    """A failed call to Visma, with what staff and code need; the message never contains a secret or a token."""

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
    pass


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


class VismaUnavailable(VismaError):
    """Nothing was sent (or nothing was done): safe to try again later."""


class OutcomeUnknown(VismaError):
    """A write was sent but no usable answer came back: it may have been carried out."""


class RateLimited(VismaError):
    def __init__(self, message: str, *, retry_after: int, **kwargs):
        super().__init__(message, retryable=True, **kwargs)
        self.retry_after = retry_after


@dataclass(frozen=True)
class TokenInfo:
    access_token: str
    expires_at: float
    scope: str

    def __repr__(self) -> str:
        return f"TokenInfo(expires_at={self.expires_at}, scope={self.scope!r})"


@dataclass(frozen=True)
class CustomerPage:
    value: list[dict]
    next_page: str | None
    total_count: int | None
    rate_limit_remaining: int | None
    request_id: str | None


@dataclass(frozen=True)
class CreatedOrder:
    order_type: str
    order_number: str
    location: str
    request_id: str | None


class _TimeoutAdapter(HTTPAdapter):
    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (settings.VISMA_CONNECT_TIMEOUT, settings.VISMA_READ_TIMEOUT)
        return super().send(request, **kwargs)


_sessions: dict[int, requests.Session] = {}


def session() -> requests.Session:
    """One session per process: django-q2 forks its workers, and a forked session would share sockets."""
    pid = os.getpid()
    if pid not in _sessions:
        retry = Retry(
            total=3,
            connect=3,
            read=2,
            status=2,
            backoff_factor=0.5,
            status_forcelist=(502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=False,
            raise_on_status=False,
        )
        new = requests.Session()
        new.headers["User-Agent"] = USER_AGENT
        adapter = _TimeoutAdapter(max_retries=retry)
        new.mount("https://", adapter)
        new.mount("http://", adapter)
        _sessions[pid] = new
    return _sessions[pid]


def record_call(
    *,
    tenant: Tenant,
    method: str,
    path: str,
    status: int | None,
    duration_ms: int,
    request_id,
    outcome: str,
    response: requests.Response | None = None,
    scope: api_log.Scope | None = None,
):
    """One log line and one API-log row per request.

    Only the path, status and Visma's own headers are read from the response: never a body with a token in it."""
    logger.info(
        "visma %s %s tenant=%s status=%s %sms request_id=%s %s",
        method,
        path,
        tenant.tenant_id,
        status,
        duration_ms,
        request_id,
        outcome,
    )
    headers = response.headers if response is not None else {}
    api_log.record(
        tenant_id=tenant.pk,
        kind=api_log.ApiCall.Kind.TOKEN if outcome == "token" else api_log.ApiCall.Kind.API,
        method=method,
        path=path,
        status=status,
        duration_ms=duration_ms,
        request_id=request_id or headers.get("X-Request-Id"),
        rate_limit_limit=_int(headers.get("X-RateLimit-Limit")),
        rate_limit_remaining=_int(headers.get("X-RateLimit-Remaining")),
        rate_limit_reset=_int(headers.get("X-RateLimit-Reset")),
        scope=scope,
    )


_token_locks: dict[str, threading.Lock] = {}
_token_locks_guard = threading.Lock()


class VismaClient:
    """Calls Visma for one tenant, with that tenant's own token only."""

    def __init__(self, tenant: Tenant):
        self.tenant = tenant
        self.application = tenant.application
        self._log_scope = api_log.current_scope()  # calls from helper threads are logged by this thread

    # --- tokens ---------------------------------------------------------------------------------------------------
    @property
    def _cache_key(self) -> str:
        scopes = "+".join(sorted(self.tenant.scopes))
        return f"visma-token:{self.application.pk}:{self.tenant.tenant_id}:{scopes}:{self.application.secret_version}"

    def token(self) -> TokenInfo:
        cached = cache.get(self._cache_key)
        if cached:
            return cached
        with _token_locks_guard:
            local = _token_locks.setdefault(self._cache_key, threading.Lock())
        with local:
            cached = cache.get(self._cache_key)
            if cached:
                return cached
            lock_key = f"{self._cache_key}:lock"
            deadline = time.monotonic() + 20
            while not cache.add(lock_key, "1", timeout=30):  # another process is fetching: wait for its token
                time.sleep(0.1)
                cached = cache.get(self._cache_key)
                if cached or time.monotonic() > deadline:
                    break
            if cached:
                return cached
            try:
                return self._fetch_token()
            finally:
                cache.delete(lock_key)

    def drop_token(self, token: TokenInfo) -> None:
        """Forget the cached token, but only if it is still the one that was refused."""
        if cache.get(self._cache_key) == token:
            cache.delete(self._cache_key)

    @sensitive_variables("secret", "form")
    def _fetch_token(self) -> TokenInfo:
        try:
            secret = self.application.client_secret()
        except EncryptionKeyError as exc:
            self._token_failed(str(exc))
            raise TokenRejected(f"The client secret of {self.application.name} cannot be used: {exc}") from None
        form = {
            "grant_type": "client_credentials",
            "client_id": self.application.client_id,
            "client_secret": secret,
            "scope": " ".join(self.tenant.scopes),
            "tenant_id": str(self.tenant.tenant_id),
        }
        host = urlsplit(self.application.token_url).netloc
        requested_at = time.time()
        started = time.monotonic()
        response = None
        try:
            for attempt in range(3):  # a token request has no side effect, so server errors may be retried
                response = session().post(self.application.token_url, data=form, timeout=_token_timeout())
                if response.status_code < 500 or attempt == 2:
                    break
                time.sleep(0.5 * 2**attempt)
        except requests.RequestException as exc:
            self._token_failed(f"Could not reach Visma Connect at {host}: {exc.__class__.__name__}.")
            raise VismaUnavailable(f"Could not reach Visma Connect at {host} ({exc.__class__.__name__}).") from None
        finally:
            duration = int((time.monotonic() - started) * 1000)
            status = response.status_code if response is not None else None
            record_call(
                tenant=self.tenant,
                method="POST",
                path=urlsplit(self.application.token_url).path,
                status=status,
                duration_ms=duration,
                request_id=None,
                outcome="token",
                response=response,
                scope=self._log_scope,
            )
        body = _json_or_none(response)
        if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            error = (body or {}).get("error") if isinstance(body, dict) else None
            description = (body or {}).get("error_description", "") if isinstance(body, dict) else ""
            if error:
                message = f"Visma Connect refused the token request: {description or error}"
                exc = TokenRejected(message, status=response.status_code, code=error, hint=TOKEN_HINTS.get(error, ""))
            else:
                exc = VismaUnavailable(
                    f"Visma Connect at {host} answered HTTP {response.status_code} without a token.",
                    status=response.status_code,
                    retryable=True,
                )
            self._token_failed(str(exc))
            raise exc
        lifetime = body.get("expires_in")
        lifetime = lifetime if isinstance(lifetime, int) and 60 <= lifetime <= 86400 else 300
        skew = max(60, lifetime // 10)
        token = TokenInfo(body["access_token"], requested_at + lifetime, body.get("scope", ""))
        cache.set(self._cache_key, token, timeout=max(1, lifetime - skew))
        Tenant.objects.filter(pk=self.tenant.pk).update(
            last_token_at=timezone.now(),
            last_token_expires_at=timezone.now() + timedelta(seconds=lifetime),
            token_failures=0,
        )
        notifications.token_request_result(self.tenant, ok=True)
        return token

    def _token_failed(self, message: str) -> None:
        """Every failed token request ends here: counted on the tenant, and the tenant's incident opened."""
        from django.db.models import F

        Tenant.objects.filter(pk=self.tenant.pk).update(
            last_token_error=message, last_token_error_at=timezone.now(), token_failures=F("token_failures") + 1
        )
        notifications.token_request_result(self.tenant, ok=False, reason=message)

    # --- API ------------------------------------------------------------------------------------------------------
    def _request(
        self, method: str, path: str, *, params: dict | None = None, json: dict | None = None, token=None
    ) -> requests.Response:
        """With an explicit `token` (callers in other threads) nothing touches the cache or database, and a 401
        is raised as Unauthorized for the caller to refresh."""
        url = self.application.api_url.rstrip("/") + path
        given = token
        for attempt in (1, 2):
            token = given or self.token()
            headers = {"Authorization": f"Bearer {token.access_token}", "Accept": "application/json"}
            started = time.monotonic()
            response = None
            try:
                response = session().request(method, url, params=params, json=json, headers=headers)
            except requests.ConnectionError as exc:
                if method != "GET" and not _never_sent(exc):
                    raise OutcomeUnknown(
                        f"The connection to {urlsplit(url).netloc} broke after the request was sent.", retryable=True
                    ) from None
                raise VismaUnavailable(_unavailable(exc, urlsplit(url).netloc), retryable=True) from None
            except requests.Timeout:
                if method != "GET":
                    raise OutcomeUnknown(f"{urlsplit(url).netloc} did not answer in time.", retryable=True) from None
                raise VismaUnavailable(f"{urlsplit(url).netloc} did not answer in time.", retryable=True) from None
            except requests.RequestException as exc:  # a broken body, too many redirects, …: the answer is lost
                text = f"The answer from {urlsplit(url).netloc} could not be read ({type(exc).__name__})."
                if method != "GET":
                    raise OutcomeUnknown(text, retryable=True) from None
                raise VismaUnavailable(text, retryable=True) from None
            finally:
                record_call(
                    tenant=self.tenant,
                    method=method,
                    path=path,
                    status=response.status_code if response is not None else None,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    request_id=response.headers.get("X-Request-Id") if response is not None else None,
                    outcome="sent",
                    response=response,
                    scope=self._log_scope,
                )
            if response.status_code == 401 and attempt == 1 and given is None:
                self.drop_token(token)  # a 401 means nothing was done: one fresh token, one replay
                continue
            return self._check(response, method)
        raise AssertionError("unreachable")

    def _check(self, response: requests.Response, method: str) -> requests.Response:
        status = response.status_code
        if status < 400:
            return response
        request_id = response.headers.get("X-Request-Id")
        body = _json_or_none(response)
        body = body if isinstance(body, dict) else {}
        text = body.get("detail") or body.get("title") or f"HTTP {status}"
        common = {"status": status, "request_id": request_id}
        if status == 400:
            raise ValidationRejected(
                f"Visma rejected the request: {text}",
                field_errors=body.get("errors"),
                details=body.get("details"),
                **common,
            )
        if status == 401:
            raise Unauthorized(
                "Visma refused the access token twice. Check that the tenant ID is the company's tenant ID.", **common
            )
        if status == 403:
            raise Forbidden(
                f"Visma refused the operation: {text}",
                hint="The token lacks the scope for it: check the scopes this tenant approved.",
                **common,
            )
        if status == 404:
            raise NotFound(f"Visma found nothing there: {text}", **common)
        if status == 429:
            retry_after = _retry_after(response)
            raise RateLimited(
                f"Visma's rate limit is used up; retry after {retry_after} s.", retry_after=retry_after, **common
            )
        if status >= 500 and method != "GET":
            raise OutcomeUnknown(f"Visma answered HTTP {status} after the request was sent.", retryable=True, **common)
        raise ServerError(f"Visma answered HTTP {status}: {text}", retryable=status >= 500, **common)

    def _json(self, response: requests.Response) -> dict:
        body = _json_or_none(response)
        if not isinstance(body, dict):
            raise ServerError(
                f"Visma answered HTTP {response.status_code} with a body that is not JSON.",
                status=response.status_code,
                request_id=response.headers.get("X-Request-Id"),
                retryable=True,
            )
        return body

    # Reference: GET /api/v3/Customers (zero-based pageIndex; body {value, nextPage, totalCount})
    def get_customers(
        self,
        page_index: int,
        page_size: int,
        filter: str | None = None,
        token: TokenInfo | None = None,
    ) -> CustomerPage:
        params = {"pageIndex": page_index, "pageSize": page_size}
        if filter:
            params["filter"] = filter
        response = self._request("GET", "/api/v3/Customers", params=params, token=token)
        body = self._json(response)
        return CustomerPage(
            value=list(body.get("value") or []),
            next_page=body.get("nextPage"),
            total_count=body.get("totalCount"),
            rate_limit_remaining=_int(response.headers.get("X-RateLimit-Remaining")),
            request_id=response.headers.get("X-Request-Id"),
        )

    # Reference: GET /api/v3/Inventory
    def get_inventory(self, page_index: int = 0, page_size: int = 1000) -> list[dict]:
        response = self._request("GET", "/api/v3/Inventory", params={"pageIndex": page_index, "pageSize": page_size})
        return list(self._json(response).get("value") or [])

    # Reference: POST /api/v3/SalesOrders -> 201 with Location .../SalesOrders/{type}/{orderId}
    def create_sales_order(self, payload: dict) -> CreatedOrder:
        response = self._request("POST", "/api/v3/SalesOrders", json=payload)
        location = response.headers.get("Location", "")
        parts = urlsplit(location).path.rstrip("/").split("/")
        if response.status_code != 201 or len(parts) < 2 or not parts[-1] or not parts[-2]:
            raise OutcomeUnknown(f"Visma answered HTTP {response.status_code} without a usable Location header.")
        return CreatedOrder(parts[-2], parts[-1], location, response.headers.get("X-Request-Id"))

    # Reference: GET /api/v3/SalesOrders?customerId=&modifiedSince=
    def find_sales_orders(self, customer_id: str, modified_since: datetime, page_size: int = 100) -> list[dict]:
        orders, page_index = [], 0
        since = modified_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        while True:
            params = {"customerId": customer_id, "modifiedSince": since, "pageSize": page_size, "pageIndex": page_index}
            body = self._json(self._request("GET", "/api/v3/SalesOrders", params=params))
            orders.extend(body.get("value") or [])
            if not body.get("nextPage"):
                return orders
            page_index += 1


def _token_timeout() -> tuple[float, float]:
    """A token request waits at most 15 s for an answer, less when the read timeout is set lower."""
    return settings.VISMA_CONNECT_TIMEOUT, min(settings.VISMA_READ_TIMEOUT, 15.0)


def _retry_after(response: requests.Response) -> int:
    """Seconds to wait after a 429: Retry-After, else X-RateLimit-Reset (seconds, or an epoch time), within an hour."""
    seconds = _int(response.headers.get("Retry-After"))
    if seconds is None:
        reset = _int(response.headers.get("X-RateLimit-Reset"))
        seconds = reset - int(time.time()) if reset and reset > 1_000_000_000 else reset
    return min(max(seconds or 60, 1), 3600)


def _unavailable(exc: requests.ConnectionError, host: str) -> str:
    """What went wrong in words: a slow answer and a reset connection are not the same as an unreachable host."""
    text = repr(exc.args[0]) if exc.args else repr(exc)
    if "ReadTimeout" in text or "Read timed out" in text:
        return f"{host} did not answer in time, also when asked again."
    if "reset" in text.lower() or "aborted" in text.lower() or "RemoteDisconnected" in text:
        return f"{host} closed the connection without answering, also when asked again."
    return f"Could not reach {host}."


def _never_sent(exc: requests.ConnectionError) -> bool:
    text = repr(exc.args[0]) if exc.args else ""
    return "NewConnectionError" in text or "NameResolutionError" in text or "Connection refused" in text


def _json_or_none(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
