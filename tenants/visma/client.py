"""THE Visma client: Visma Connect tokens and the Sales Order API v3, for one tenant at a time.

Every call is checked before it leaves (tenant and application active, host allowed, secret entered for these
URLs), has an overall deadline, never follows a redirect, and is logged without a secret or a token. What comes
back from Visma is cleaned before anybody sees it.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from urllib.parse import quote, urlsplit

import requests
from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from core import exact_json

from .. import api_log, notifications
from ..crypto import EncryptionKeyError
from ..models import Tenant
from . import clock, hosts, remote_text, transport
from .budget import RateBudget
from .errors import (
    Forbidden,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Refused,
    ServerError,
    Throttled,
    TokenRejected,
    Unauthorized,
    ValidationRejected,
    VersionConflict,
    VersionMissing,
    VismaError,
    VismaUnavailable,
)

logger = logging.getLogger("tenants.visma")

TOKEN_HINTS = {
    "invalid_client": "Visma rejected the client ID or secret. Generate a new secret in the Visma Developer Portal "
    "(Credentials tab) and save it on the service application.",
    "invalid_scope": "The SalesOrder API integration with read/write scopes is missing on the application, or this "
    "tenant has not approved those scopes. Check the API integration in the Developer Portal and the tenant's scopes.",
    "invalid_tenant": "The customer's Integration Administrator has not approved the application in the Visma App "
    "Store. Send them the invitation code from the Developer Portal; approval can take 10-15 minutes to apply.",
    "invalid_grant": "Visma Connect refused the grant for this tenant: check that the customer approved the "
    "application in the Visma App Store and that the tenant ID is theirs.",
    "unauthorized_client": "Visma Connect does not allow this application to use client credentials. Check the "
    "application's type in the Visma Developer Portal.",
    "temporarily_unavailable": "Visma Connect is busy; the portal tries again by itself.",
    "server_error": "Visma Connect had an internal error; the portal tries again by itself.",
}
# Only these mean the credentials or the approval are wrong; every other token failure is waited out.
PERMANENT_TOKEN_ERRORS = {"invalid_client", "invalid_scope", "invalid_grant", "invalid_tenant", "unauthorized_client"}
REQUEST_ID_HEADERS = ("apigw-requestid", "X-Request-Id")
REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9_.:/+=\-]{1,64}")
ERROR_CODE_SHAPE = re.compile(r"[a-z_]{1,40}")
CLOCK_RETRY_SECONDS = 60  # a lookup made before Visma's clock was known is asked again when it is this far off
PACING_WAIT_SECONDS = 2.0  # a background call waits this long at most for its turn; a longer wait is handed back


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
    status: int = 200
    rate_headers: dict | None = None  # Visma's X-RateLimit-* headers, for the thread that keeps the budget


@dataclass(frozen=True)
class CreatedOrder:
    order_type: str
    order_number: str
    location: str
    request_id: str | None


@dataclass(frozen=True)
class OrderPage:
    value: list[dict]
    next_page: str | None
    total_count: int | None


@dataclass(frozen=True)
class RemoteOrder:
    """One order as Visma has it now, with the version to send back as If-Match ("" when Visma sent none)."""

    order: dict
    etag: str


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
    request_id = request_id or (request_id_of(response) if response is not None else None)
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
        request_id=request_id,
        rate_limit_limit=_int(headers.get("X-RateLimit-Limit")),
        rate_limit_remaining=_int(headers.get("X-RateLimit-Remaining")),
        rate_limit_reset=_int(headers.get("X-RateLimit-Reset")),
        scope=scope,
    )


def request_id_of(response: requests.Response, body=None) -> str | None:
    """Visma's id for the request: its gateway's `apigw-requestid`, else `X-Request-Id`, else the problem body's
    `traceId` or `instance`. Only what looks like an id, and never what this call sent as a secret or token."""
    candidates = [response.headers.get(name) for name in REQUEST_ID_HEADERS]
    if isinstance(body, dict):
        candidates += [body.get("traceId"), body.get("instance")]
    secrets = getattr(response, "visma_secrets", ())
    for value in candidates:
        if not isinstance(value, str) or not REQUEST_ID_SHAPE.fullmatch(value):
            continue
        if not any(secret and (secret in value or value in secret) for secret in secrets):
            return value
    return None


_token_locks: dict[str, threading.Lock] = {}
_token_locks_guard = threading.Lock()
_tokens: dict[str, tuple[TokenInfo, float]] = {}  # this process's copy of the cached tokens, with when to stop using
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def forget_process_state() -> None:
    """Drop what this process remembers beside the cache (tokens, Visma's clock, rate budgets): for tests."""
    from . import budget

    _tokens.clear()
    clock._written.clear()
    budget._local.clear()


class VismaClient:
    """Calls Visma for one tenant, with that tenant's own token only.

    `budget`: seconds all of this client's calls together may take (a task's or a page's share); each call also
    stops at `VISMA_CALL_DEADLINE_SECONDS`. `for_staff`: the calls are made while a person waits for them, so they
    may use the share of Visma's rate limit that background work leaves (`VISMA_RATE_RESERVE`); background calls
    wait for their turn in the tenant's rate budget, or raise `Throttled` when that is further off.
    """

    def __init__(self, tenant: Tenant, *, budget: float | None = None, for_staff: bool = False):
        self.tenant = tenant
        self.application = tenant.application
        self._log_scope = api_log.current_scope()  # calls from helper threads are logged by this thread
        self._budget_ends = time.monotonic() + budget if budget else None
        self.for_staff = for_staff
        self.rate_budget = RateBudget(self.application.pk, tenant.tenant_id)
        self._turn_taken = False

    @property
    def api_host(self) -> str:
        return urlsplit(self.application.api_url).netloc.lower()

    # --- before anything leaves -----------------------------------------------------------------------------------
    def _guard(self, url: str) -> None:
        if not self.tenant.active:
            raise Refused(f"{self.tenant.name} is deactivated: the portal makes no calls to Visma for it.")
        if not self.application.active:
            raise Refused(
                f"The service application {self.application.name} is deactivated: the portal makes no calls with it."
            )
        if problem := hosts.url_problem(url):
            raise Refused(f"Not sent to {hosts.shown(url)}: {problem}")

    def _deadline(self) -> float:
        deadline = settings.VISMA_CALL_DEADLINE_SECONDS
        if self._budget_ends is not None:
            left = self._budget_ends - time.monotonic()
            if left < 1:
                raise VismaUnavailable("No time was left for another call to Visma in this run; it goes on later.")
            deadline = min(deadline, left)
        return deadline

    def take_turn(self) -> None:
        """Wait for this tenant's next background turn in Visma's rate limit, or raise `Throttled` (nothing sent)
        when it is more than PACING_WAIT_SECONDS away. The next call made through this client uses the turn."""
        if self.for_staff or self._turn_taken:
            return
        wait = self.rate_budget.take_turn(max_wait=PACING_WAIT_SECONDS)
        if wait > PACING_WAIT_SECONDS:
            seconds = max(1, math.ceil(wait))
            raise Throttled(
                f"Held back to stay within Visma's rate limit for {self.tenant.name}; the next call can go in "
                f"{seconds} s. Nothing was sent.",
                retry_after=seconds,
            )
        if wait > 0:
            time.sleep(wait)
        self._turn_taken = True

    def observe_rate(self, headers, status: int) -> None:
        """Take in the rate-limit headers of an answer received in another thread."""
        retry_after = _retry_after_seconds(headers) if status == 429 else None
        self.rate_budget.observe(headers, status=status, retry_after=retry_after)

    # --- tokens ---------------------------------------------------------------------------------------------------
    @property
    def _cache_key(self) -> str:
        scopes = "+".join(sorted(self.tenant.scopes))
        where = sha256(
            f"{self.application.client_id}\n{self.application.token_url}\n{self.api_host}".encode()
        ).hexdigest()[:16]
        return (
            f"visma-token:{self.application.pk}:{self.tenant.tenant_id}:{scopes}:"
            f"{self.application.secret_version}:{where}"
        )

    def token(self) -> TokenInfo:
        self._guard(self.application.token_url)
        self._guard(self.application.api_url)  # a token is only worth having for an API it may be sent to
        key = self._cache_key
        held = _tokens.get(key)
        if held and time.time() < held[1]:
            return held[0]
        cached = cache.get(key)
        if cached:
            return self._hold(cached)
        with _token_locks_guard:
            local = _token_locks.setdefault(key, threading.Lock())
        with local:
            cached = cache.get(key)
            if cached:
                return self._hold(cached)
            lock_key, locked = f"{key}:lock", False
            deadline = time.monotonic() + 20
            while not (locked := cache.add(lock_key, "1", timeout=30)):  # another process is fetching: wait for it
                time.sleep(0.1)
                cached = cache.get(key)
                if cached or time.monotonic() > deadline:
                    break
            try:
                if locked:  # the process that held the lock may have stored its token just before letting go
                    cached = cache.get(key)
                return self._hold(cached or self._fetch_token())
            finally:
                if locked:
                    cache.delete(lock_key)

    def _hold(self, token: TokenInfo) -> TokenInfo:
        """Keep a copy in this process until the same margin before expiry as the cache keeps it."""
        lifetime = token.expires_at - time.time()
        _tokens[self._cache_key] = (token, token.expires_at - max(60, lifetime // 10))
        return token

    def drop_token(self, token: TokenInfo) -> None:
        """Forget the cached token, but only if it is still the one that was refused."""
        held = _tokens.get(self._cache_key)
        if held and held[0] == token:
            del _tokens[self._cache_key]
        if cache.get(self._cache_key) == token:
            cache.delete(self._cache_key)

    @sensitive_variables("secret", "form")
    def _fetch_token(self) -> TokenInfo:
        if self.application.secret_needs_reentry:
            message = (
                f"The client ID, token URL or API URL of {self.application.name} changed after its client secret was "
                "saved. Enter the secret again on the application; until then it is sent nowhere."
            )
            self._token_failed(message)
            raise Refused(message)
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
        response = None
        for attempt in range(3):  # a token request has no side effect, so server errors may be retried
            started = time.monotonic()
            try:
                _, response = transport.send(
                    "POST", self.application.token_url, deadline=self._deadline(), timeout=_token_timeout(), data=form
                )
                response.visma_secrets = (secret,)
            except requests.RequestException as exc:
                lost = _lost_answer(exc, "POST", host)
                failure = VismaUnavailable(
                    f"Could not get a token from Visma Connect: {lost.message}", unreachable=_unreachable(lost)
                )
                # Nothing reached Visma: an outage, which its caller reports once for the tenant, not a token problem.
                self._token_failed(str(failure), incident=not failure.unreachable)
                raise failure from None
            finally:
                record_call(
                    tenant=self.tenant,
                    method="POST",
                    path=urlsplit(self.application.token_url).path,
                    status=response.status_code if response is not None else None,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    request_id=None,
                    outcome="token",
                    response=response,
                    scope=self._log_scope,
                )
            if response.status_code < 500 or attempt == 2:
                break
            time.sleep(0.5 * 2**attempt)
            response = None
        body = _json_or_none(response)
        if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            failure = _token_failure(response, body, host, secret)
            self._token_failed(str(failure))
            raise failure
        lifetime = body.get("expires_in")
        lifetime = lifetime if isinstance(lifetime, int) and 60 <= lifetime <= 86400 else 300
        skew = max(60, lifetime // 10)
        scope = remote_text.clean(body.get("scope", ""), secrets=(secret, body["access_token"]))
        token = TokenInfo(body["access_token"], requested_at + lifetime, scope)
        cache.set(self._cache_key, token, timeout=max(1, lifetime - skew))
        Tenant.objects.filter(pk=self.tenant.pk).update(
            last_token_at=timezone.now(),
            last_token_expires_at=timezone.now() + timedelta(seconds=lifetime),
            token_failures=0,
        )
        notifications.token_request_result(self.tenant, ok=True)
        return token

    def _token_failed(self, message: str, *, incident: bool = True) -> None:
        """Every failed token request ends here: counted on the tenant, and the tenant's incident opened."""
        Tenant.objects.filter(pk=self.tenant.pk).update(
            last_token_error=message, last_token_error_at=timezone.now(), token_failures=F("token_failures") + 1
        )
        if incident:
            notifications.token_request_result(self.tenant, ok=False, reason=message)

    # --- API ------------------------------------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json_body=None,
        token=None,
        if_match: str | None = None,
    ) -> requests.Response:
        """With an explicit `token` (callers in other threads) nothing touches the cache or database, and a 401
        is raised as Unauthorized for the caller to refresh."""
        url = self.application.api_url.rstrip("/") + path
        self._guard(url)
        host = urlsplit(url).netloc
        given = token
        body = None if json_body is None else encode_json(json_body)
        for attempt in (1, 2):
            token = given or self.token()
            if given is None:
                self.take_turn()  # a caller in another thread keeps the budget itself, from the answers it gets
            self._turn_taken = False
            headers = {"Authorization": f"Bearer {token.access_token}", "Accept": "application/json"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            if if_match:
                headers["If-Match"] = if_match
            started, sent_at = time.monotonic(), timezone.now()
            response = None
            try:
                _, response = transport.send(
                    method,
                    url,
                    deadline=self._deadline(),
                    timeout=(settings.VISMA_CONNECT_TIMEOUT, settings.VISMA_READ_TIMEOUT),
                    params=params,
                    data=body,
                    headers=headers,
                )
                response.visma_secrets = (token.access_token,)
            except requests.RequestException as exc:
                raise _lost_answer(exc, method, host) from None
            finally:
                record_call(
                    tenant=self.tenant,
                    method=method,
                    path=path,
                    status=response.status_code if response is not None else None,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    request_id=None,
                    outcome="sent",
                    response=response,
                    scope=self._log_scope,
                )
            if given is None:  # the database and cache belong to the calling thread only
                clock.observe(self.api_host, response.headers.get("Date"), sent_at, timezone.now())
                self.observe_rate(response.headers, response.status_code)
            if response.status_code == 401 and attempt == 1 and given is None:
                self.drop_token(token)  # a 401 means nothing was done: one fresh token, one replay
                continue
            return self._check(response, method, token)
        raise AssertionError("unreachable")

    def _check(self, response: requests.Response, method: str, token: TokenInfo) -> requests.Response:
        status = response.status_code
        if status < 300:
            return response
        raw = _json_or_none(response)
        body = raw if isinstance(raw, dict) else {}
        secrets = (token.access_token,)
        text = remote_text.clean(body.get("detail") or body.get("title") or f"HTTP {status}", secrets=secrets)
        common = {"status": status, "request_id": request_id_of(response, body)}
        if status < 400:
            where = urlsplit(response.headers.get("Location") or "").netloc or "another address"
            message = f"Visma answered HTTP {status}, a redirect to {where}; the portal does not follow redirects."
            if method != "GET":
                raise OutcomeUnknown(message, retryable=True, **common)
            raise ServerError(message, **common)
        if status == 400:
            raise ValidationRejected(
                f"Visma rejected the request: {text}",
                field_errors=_dict(remote_text.clean_tree(body.get("errors"), secrets=secrets)),
                details=_list(remote_text.clean_tree(body.get("details"), secrets=secrets)),
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
        if status == 405:
            raise ValidationRejected(f"Visma does not allow this for the order now: {text}", **common)
        if status == 409:
            raise ValidationRejected(f"Visma refused it as a conflict: {text}", **common)
        if status == 412:
            raise VersionConflict(
                "The order was changed in Visma since the portal last read it; nothing was changed.", **common
            )
        if status == 428:
            raise VersionMissing(f"Visma wanted the order's version (If-Match) and none was sent: {text}", **common)
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
                request_id=request_id_of(response),
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
            request_id=request_id_of(response),
            status=response.status_code,
            rate_headers={name: response.headers[name] for name in RATE_HEADERS if name in response.headers},
        )

    # Reference: GET /api/v3/Inventory
    def get_inventory(self, page_index: int = 0, page_size: int = 1000) -> list[dict]:
        response = self._request("GET", "/api/v3/Inventory", params={"pageIndex": page_index, "pageSize": page_size})
        return list(self._json(response).get("value") or [])

    # Reference: POST /api/v3/SalesOrders -> 201 with location .../SalesOrders/{type}/{orderId}
    def create_sales_order(self, payload: dict) -> CreatedOrder:
        response = self._request("POST", "/api/v3/SalesOrders", json_body=payload)
        location = response.headers.get("Location", "")  # Visma's own host for it may differ: only its path is read
        parts = urlsplit(location).path.rstrip("/").split("/")
        if response.status_code != 201 or len(parts) < 2 or not parts[-1] or not parts[-2]:
            raise OutcomeUnknown(
                f"Visma answered HTTP {response.status_code} without a usable Location header.",
                request_id=request_id_of(response),
            )
        return CreatedOrder(
            remote_text.clean(parts[-2], limit=2), remote_text.clean(parts[-1], limit=15), "", request_id_of(response)
        )

    # Reference: GET /api/v3/SalesOrders?customerId=&modifiedSince=&orderBy=
    def find_sales_orders(
        self, customer_id: str, modified_since: datetime, page_size: int = 100, *, _again: bool = False
    ) -> list[dict]:
        """The customer's orders changed since `modified_since` (our clock; asked in Visma's), oldest first.

        Paged by creation time, which never changes: an order modified while we page can only be read twice."""
        orders, seen, page_index = [], set(), 0
        offset_used = clock.offset(self.api_host)
        since = (modified_since + offset_used).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        while True:
            params = {
                "customerId": customer_id,
                "modifiedSince": since,
                "orderBy": "created asc",
                "pageSize": page_size,
                "pageIndex": page_index,
            }
            body = self._json(self._request("GET", "/api/v3/SalesOrders", params=params))
            drift = abs((clock.offset(self.api_host) - offset_used).total_seconds())
            if page_index == 0 and drift > CLOCK_RETRY_SECONDS and not _again:  # Visma's clock was not what we knew
                return self.find_sales_orders(customer_id, modified_since, page_size, _again=True)
            for order in body.get("value") or []:
                key = (order.get("type"), order.get("orderId")) if isinstance(order, dict) else None
                if key not in seen:
                    seen.add(key)
                    orders.append(order)
            if not body.get("nextPage") or not body.get("value"):
                return orders
            page_index += 1

    # Reference: GET /api/v3/SalesOrders?modifiedSince=&orderBy=&pageSize=&pageIndex= (SalesOrders_GetList_)
    def list_sales_orders(
        self, modified_since: datetime, page_index: int, page_size: int, order_by: str = "created asc"
    ) -> OrderPage:
        """One page of the tenant's orders modified since `modified_since`, a time by Visma's own clock."""
        params = {
            "modifiedSince": _visma_time(modified_since),
            "orderBy": order_by,
            "pageSize": page_size,
            "pageIndex": page_index,
        }
        body = self._json(self._request("GET", "/api/v3/SalesOrders", params=params))
        value = [order for order in body.get("value") or [] if isinstance(order, dict)]
        return OrderPage(value=value, next_page=body.get("nextPage") or None, total_count=_int(body.get("totalCount")))

    # Reference: GET /api/v3/SalesOrders/{type}/{orderId} (SalesOrders_GetItemAsync_typeorderId), ETag header
    def get_sales_order(self, order_type: str, order_id: str, expand: tuple[str, ...] = ("Shipping",)) -> RemoteOrder:
        params = {"expand": list(expand)} if expand else None
        response = self._request("GET", _order_path(order_type, order_id), params=params)
        return RemoteOrder(order=self._json(response), etag=_etag(response))

    # Reference: GET /api/v3/SalesOrders/{type}/{orderId}/lines (default pageSize 1000, zero-based pageIndex)
    def get_sales_order_lines(self, order_type: str, order_id: str, page_size: int = 1000) -> list[dict]:
        """Every line, page by page; a next page that brings no line not read before means Visma is not paging
        (it serves the same page for every pageIndex): reading stops there with a ServerError, so no answer of
        Visma's can keep the portal calling."""
        lines, seen, page_index = [], set(), 0
        while True:
            params = {"pageSize": page_size, "pageIndex": page_index}
            response = self._request("GET", _order_path(order_type, order_id) + "/lines", params=params)
            body = self._json(response)
            page = [line for line in body.get("value") or [] if isinstance(line, dict)]
            known = len(lines)
            for line in page:
                if line.get("lineId") not in seen:
                    seen.add(line.get("lineId"))
                    lines.append(line)
            if not body.get("nextPage") or not page:
                return lines
            if len(lines) == known:
                raise ServerError(
                    "Visma served the order's lines again on the next page instead of the next ones; reading stopped.",
                    status=response.status_code,
                    request_id=request_id_of(response),
                    retryable=True,
                )
            if len(page) < page_size:  # Visma served fewer than asked and has more: ask in the size it serves
                page_index, page_size = len(lines) // len(page), len(page)
            else:
                page_index += 1

    # Reference: PATCH /api/v3/SalesOrders/{type}/{orderId} (SalesOrders_Patch_typeorderId): If-Match, 202 + ETag
    def patch_sales_order(self, order_type: str, order_id: str, body: dict, if_match: str) -> str:
        return self._change("PATCH", _order_path(order_type, order_id), body, if_match)

    # Reference: POST /api/v3/SalesOrders/{type}/{orderId}/lines (SalesOrders_AddLines_typeorderIdlines)
    def add_sales_order_lines(self, order_type: str, order_id: str, lines: list[dict], if_match: str) -> str:
        return self._change("POST", _order_path(order_type, order_id) + "/lines", {"lines": lines}, if_match)

    # Reference: PATCH /api/v3/SalesOrders/{type}/{orderId}/lines (SalesOrders_PatchLines_typeorderIdlines)
    def patch_sales_order_lines(self, order_type: str, order_id: str, lines: list[dict], if_match: str) -> str:
        return self._change("PATCH", _order_path(order_type, order_id) + "/lines", {"lines": lines}, if_match)

    def _change(self, method: str, path: str, body: dict, if_match: str) -> str:
        """Send a change with the order's version; the new version Visma answers with ("" when it sent none)."""
        if not if_match:
            raise VersionMissing("The portal has no version of this order to send as If-Match; read it first.")
        response = self._request(method, path, json_body=body, if_match=if_match)
        if response.status_code not in (200, 202, 204):
            raise OutcomeUnknown(
                f"Visma answered HTTP {response.status_code} to a change; it may or may not have been made.",
                request_id=request_id_of(response),
                retryable=True,
            )
        return _etag(response)

    # Reference: GET /api/v3/Customers/{customerId}/locations (Customers_GetCustomerLocationList_customerIdlocations)
    def get_customer_locations(self, customer_id: str) -> list[dict]:
        response = self._request("GET", f"/api/v3/Customers/{quote(customer_id, safe='')}/locations")
        body = _json_or_none(response)
        if isinstance(body, dict):  # a paged shape, should Visma ever wrap the list
            body = body.get("value")
        if not isinstance(body, list):
            raise ServerError(
                "Visma answered the delivery locations with a body that is not a list.",
                status=response.status_code,
                request_id=request_id_of(response),
                retryable=True,
            )
        return [location for location in body if isinstance(location, dict)]


def _order_path(order_type: str, order_id: str) -> str:
    return f"/api/v3/SalesOrders/{quote(order_type, safe='')}/{quote(order_id, safe='')}"


def _etag(response: requests.Response) -> str:
    """The ETag exactly as sent (an opaque version, quotes and all), or "" when Visma sent none or an unusable one."""
    value = (response.headers.get("ETag") or "").strip()
    return value if 0 < len(value) <= 200 and value.isprintable() else ""


def _visma_time(moment: datetime) -> str:
    """A time for Visma's query strings: UTC with its fraction of a second (Visma's lastModified has one)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_json(payload) -> bytes:
    """The request body: JSON with every Decimal written as the number it is (never through a float)."""
    return exact_json.dumps(payload).encode()


def _token_failure(response: requests.Response, body, host: str, secret: str) -> VismaError:
    body = body if isinstance(body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), str) else ""
    error = error if ERROR_CODE_SHAPE.fullmatch(error) and error not in secret else ("unexpected" if error else "")
    description = remote_text.clean(body.get("error_description") or "", secrets=(secret,))
    status = response.status_code
    common = {"status": status, "code": error or None, "hint": TOKEN_HINTS.get(error, "")}
    if 300 <= status < 400:
        return Refused(
            f"Visma Connect at {host} answered with a redirect; the portal never sends the secret anywhere else.",
            status=status,
        )
    if error in PERMANENT_TOKEN_ERRORS:
        return TokenRejected(f"Visma Connect refused the token request: {description or error}", **common)
    if status == 429:
        retry_after = _retry_after(response)
        return RateLimited(
            f"Visma Connect is limiting token requests; retry after {retry_after} s.", retry_after=retry_after, **common
        )
    what = f": {description or error}" if error else " without a token"
    return VismaUnavailable(f"Visma Connect at {host} answered HTTP {status}{what}.", **common)


def _lost_answer(exc: requests.RequestException, method: str, host: str) -> VismaError:
    """A call that ended without an answer: never sent (Visma unreachable), sent but unanswered (a write's outcome
    is then unknown), or cut off by its deadline."""
    call = getattr(exc, "visma_call", None)
    sent = call is None or call.sent
    if call is not None and call.expired:
        text = f"{host} did not finish answering within {settings.VISMA_CALL_DEADLINE_SECONDS:g} s."
    elif isinstance(exc, requests.exceptions.SSLError):
        text = f"The secure connection to {host} failed ({type(exc).__name__})."
    elif isinstance(exc, requests.Timeout):
        text = f"{host} did not answer in time."
    elif isinstance(exc, requests.ConnectionError):
        text = _unavailable(exc, host) if sent else f"Could not reach {host}."
    else:  # a broken body, a bad chunk, …: the answer is lost
        text = f"The answer from {host} could not be read ({type(exc).__name__})."
    if not sent:
        return VismaUnavailable(f"{text} Nothing was sent.", unreachable=True)
    if method != "GET":
        return OutcomeUnknown(f"{text} The request was sent, so Visma may have carried it out.", retryable=True)
    return VismaUnavailable(text)


def _unreachable(exc: VismaError) -> bool:
    return isinstance(exc, VismaUnavailable) and exc.unreachable


def _token_timeout() -> tuple[float, float]:
    """A token request waits at most 15 s for an answer, less when the read timeout is set lower."""
    return settings.VISMA_CONNECT_TIMEOUT, min(settings.VISMA_READ_TIMEOUT, 15.0)


def _retry_after(response: requests.Response) -> int:
    return _retry_after_seconds(response.headers)


def _retry_after_seconds(headers) -> int:
    """Seconds to wait after a 429: Retry-After, else X-RateLimit-Reset (seconds, or an epoch time), within an hour."""
    seconds = _int(headers.get("Retry-After"))
    if seconds is None:
        reset = _int(headers.get("X-RateLimit-Reset"))
        seconds = reset - int(time.time()) if reset and reset > 1_000_000_000 else reset
    return min(max(seconds or 60, 1), 3600)


def _unavailable(exc: requests.ConnectionError, host: str) -> str:
    """What went wrong in words: a slow answer and a reset connection are not the same as an unreachable host."""
    text = repr(exc.args[0]) if exc.args else repr(exc)
    if "ReadTimeout" in text or "Read timed out" in text:
        return f"{host} did not answer in time, also when asked again."
    if "reset" in text.lower() or "aborted" in text.lower() or "RemoteDisconnected" in text:
        return f"{host} closed the connection without answering."
    return f"The connection to {host} broke."


def _json_or_none(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
