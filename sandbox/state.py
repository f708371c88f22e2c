"""Everything the sandbox remembers, behind one lock. Inspectable from tests through `SandboxServer.state`."""

from __future__ import annotations

import copy
import json
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import clock, lifecycle, seed
from .webhooks import Webhooks

FAULT_KINDS = {
    "500",
    "503",
    "429",
    "slow",
    "reset",
    "malformed_json",
    "expired_token",
    "accept_then_drop",
    "tls_garbage",
    "commit_after",
    "slow_drip",
    "refuse",
    "no_etag",
}
DEFAULT_MAX_PAGE_SIZE = 1000
# The SalesOrders list serves at most this many rows a page, without a 400, and links the next page: Visma documents
# no maximum, and a portal that assumed its own page size (1,000) was served would skip orders.
SALES_ORDER_PAGE_CAP = 500
# Settings a test or the control endpoints may change, which `reset()` puts back as the sandbox was started with.
RESTORED_ON_RESET = (
    "max_page_size",
    "clock_offset",
    "silent_page_cap",
    "latency",
    "lifecycle",
    "local_time_hours",
    "orders_page_cap",
)


@dataclass
class Token:
    client_id: str
    tenant_id: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class Fault:
    kind: str
    path: str = "/"
    method: str | None = None
    probability: float | None = None
    sequence: list[bool] | None = None
    times: int | None = None
    delay: float = 5.0
    retry_after: int = 1

    @classmethod
    def from_dict(cls, data: dict) -> Fault:
        kind = str(data.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(sorted(FAULT_KINDS))}")
        return cls(
            kind=kind,
            path=str(data.get("path", "/")),
            method=(str(data["method"]).upper() if data.get("method") else None),
            probability=data.get("probability"),
            sequence=list(data["sequence"]) if data.get("sequence") is not None else None,
            times=data.get("times"),
            delay=float(data.get("delay", 3.0 if kind == "slow_drip" else 5.0)),
            retry_after=int(data.get("retry_after", 1)),
        )

    def fires(self, method: str, path: str, rng: random.Random) -> bool:
        """Whether this fault applies to the request; consumes one step of a sequence or count."""
        if not path.startswith(self.path) or (self.method and self.method != method):
            return False
        if self.sequence is not None:
            return self.sequence.pop(0) if self.sequence else False
        if self.times is not None:
            if self.times <= 0:
                return False
            self.times -= 1
            return True
        if self.probability is not None:
            return rng.random() < self.probability
        return True


def parse_latency(value) -> float | dict[str, float]:
    """A number of seconds for every API request, or {"[METHOD ]/path prefix": seconds}; ValueError otherwise."""
    if isinstance(value, dict):
        parsed = {}
        for key, seconds in value.items():
            method, _, path = str(key).rpartition(" ")
            if not path.startswith("/") or (method and not method.isalpha()):
                raise ValueError(f"latency key {key!r} is not '/path' or 'METHOD /path'")
            parsed[f"{method.upper()} {path}".lstrip()] = _seconds(seconds)
        return parsed
    return _seconds(value)


def _seconds(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"latency {value!r} is not a number of seconds")
    seconds = float(value)
    if not 0 <= seconds <= 300:
        raise ValueError(f"latency {seconds:g} s is not between 0 and 300 seconds")
    return seconds


def _matches(key: str, method: str, path: str) -> bool:
    wanted, _, prefix = key.rpartition(" ")
    return (not wanted or wanted == method) and path.startswith(prefix)


@dataclass
class SandboxState:
    client_secret: str
    customers_per_tenant: int = 40
    token_lifetime: int = seed.DEFAULT_TOKEN_LIFETIME
    rate_limit: int = 1000
    rate_window: int = 3600
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE
    clock_offset: float = 0.0
    seed_value: int = 1
    silent_page_cap: int | None = None  # Customers pages hold at most this many, with no 400 (see api.get_customers)
    orders_page_cap: int | None = SALES_ORDER_PAGE_CAP  # the same for the SalesOrders list; None: as many as asked
    latency: float | dict[str, float] = 0.0  # seconds before each API answer, or per "[METHOD ]/path" prefix
    extra_tenants: tuple[str, ...] = ()  # more approved tenants with read and write scopes, kept across resets
    # Stricter than Visma documents, as older Visma APIs were: X-RateLimit-Reset as a Unix time, every request sent
    # into a spent window pushes its end back this many seconds, and Visma's headers in lower case.
    rate_reset_epoch: bool = False
    rate_penalty: float = 0.0
    lowercase_headers: bool = False
    lifecycle: float | None = None  # seconds an Open order stays Open, and then Shipping, before it moves on
    webhook_url: str | None = None  # where order notifications go (see sandbox.webhooks); POST /_sandbox/webhooks
    # Hours east of UTC: lastModified is written in that local time with no zone designator (sandbox.clock.written).
    # Visma documents modifiedSince as UTC unless it has an offset, but not how it writes times back.
    local_time_hours: float | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    after_reset: Callable[[], None] | None = None  # the server's resume(): a reset sandbox is also up again

    def __post_init__(self) -> None:
        self.latency = parse_latency(self.latency)
        self._settings = {name: getattr(self, name) for name in RESTORED_ON_RESET}
        self.pending: list[threading.Timer] = []
        self.webhooks = Webhooks()
        self.reset()

    def reset(self) -> None:
        """Back to the seed data, the settings it was started with (page size limits, clock offset, latency, lifecycle,
        webhooks), no pending timers or deliveries, and up."""
        self.cancel_pending()
        self.webhooks.reset(self.webhook_url, self.seed_value)
        if self.after_reset:
            self.after_reset()
        with self.lock:
            for name, value in self._settings.items():
                setattr(self, name, value)
            self.client_id = seed.DEMO_CLIENT_ID
            self.granted_scopes = (seed.SCOPE_READ, seed.SCOPE_WRITE)
            self.tenants = {tid: {"name": n, "approved": a, "scopes": s} for tid, (n, a, s) in seed.TENANTS.items()}
            for number, tenant_id in enumerate(self.extra_tenants, start=1):
                self.tenants[tenant_id] = {
                    "name": f"Extra tenant {number}",
                    "approved": True,
                    "scopes": (seed.SCOPE_READ, seed.SCOPE_WRITE),
                }
            self._customers = {
                tid: {c["id"]: c for c in seed.customers_for(tid, self.customers_per_tenant)} for tid in self.tenants
            }
            self._locations = {
                tid: {number: seed.locations_for(c) for number, c in customers.items()}
                for tid, customers in self._customers.items()
            }
            self.inventory = seed.inventory_items()
            self.tokens: dict[str, Token] = {}
            self.token_counts: dict[str, int] = {}
            self.token_times: dict[str, list[float]] = {}  # when each token request came (Unix time)
            self.sales_orders: list[dict] = []
            self.counters: dict[str, int] = {}
            self.log: list[dict] = []
            self.faults: list[Fault] = []
            self.rng = random.Random(self.seed_value)
            self.version_rng = random.Random(f"versions:{self.seed_value}")
            self.windows: dict[str, tuple[float, int]] = {}

    def now(self) -> datetime:
        """The sandbox's clock: real UTC time shifted by `clock_offset` seconds."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    def timestamp(self) -> str:
        """The sandbox's clock as Visma writes times: UTC with seven decimals."""
        return clock.format_ticks(clock.now_ticks(self.clock_offset))

    # --- tokens ---------------------------------------------------------------------------------------------------
    def issue_token(self, tenant_id: str, scopes: tuple[str, ...]) -> tuple[str, int]:
        with self.lock:
            token = secrets.token_urlsafe(32)
            self.tokens[token] = Token(self.client_id, tenant_id, scopes, time.time() + self.token_lifetime)
            return token, self.token_lifetime

    def count_token_request(self, client_id: str, tenant_id: str) -> None:
        with self.lock:
            key = f"{client_id}:{tenant_id}"
            self.token_counts[key] = self.token_counts.get(key, 0) + 1
            self.token_times.setdefault(key, []).append(time.time())

    def token_request_count(self, client_id: str = seed.DEMO_CLIENT_ID, tenant_id: str = seed.TENANT_FULL) -> int:
        with self.lock:
            return self.token_counts.get(f"{client_id}:{tenant_id}", 0)

    def lookup_token(self, token: str) -> Token | None:
        with self.lock:
            found = self.tokens.get(token)
            return found if found and found.expires_at > time.time() else None

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def rotate_client_secret(self, new_secret: str) -> None:
        with self.lock:
            self.client_secret = new_secret

    # --- customers ------------------------------------------------------------------------------------------------
    def customers(self, tenant_id: str) -> list[dict]:
        with self.lock:
            return [dict(c) for c in self._customers.get(tenant_id, {}).values()]

    def find_customer(self, tenant_id: str, number: str) -> dict | None:
        with self.lock:
            return self._customers.get(tenant_id, {}).get(number)

    def add_customer(self, tenant_id: str, **fields) -> dict:
        with self.lock:
            internal_id = 5000 + sum(len(c) for c in self._customers.values()) + len(self.log)
            customer = {"internalId": internal_id, "status": "Active", "name": None, **fields}
            self._customers.setdefault(tenant_id, {})[customer["id"]] = customer
            return customer

    def update_customer(self, tenant_id: str, number: str, **fields) -> None:
        with self.lock:
            self._customers[tenant_id][number].update(fields)

    def remove_customer(self, tenant_id: str, number: str) -> None:
        with self.lock:
            self._customers[tenant_id].pop(number, None)

    def locations(self, tenant_id: str, number: str) -> list[dict] | None:
        """The customer's locations, inactive ones too (each has "active"), or None when there is no such customer."""
        with self.lock:
            customer = self.find_customer(tenant_id, number)
            if customer is None:
                return None
            known = self._locations.setdefault(tenant_id, {})
            if number not in known:
                known[number] = seed.locations_for(customer)
            return copy.deepcopy(known[number])

    # --- sales orders ---------------------------------------------------------------------------------------------
    def store_order(self, tenant_id: str, body: dict) -> dict | None:
        """The stored order, or None when `overrideNumberSeries` asks for an orderId its type already has.

        `body` stays as it was sent; the order as Visma has it now is in the other fields (status, lines, …)."""
        with self.lock:
            order_type = body["type"]
            taken = {o["orderId"] for o in self.sales_orders if o["tenant_id"] == tenant_id and o["type"] == order_type}
            if body.get("overrideNumberSeries"):
                order_id = body["orderId"]
                if order_id in taken:
                    return None
            else:
                order_id = self._next_number(f"{tenant_id}:{order_type}", taken)
            now = self.timestamp()
            customer = body.get("customer") or {}
            order = {
                "tenant_id": tenant_id,
                "type": order_type,
                "orderId": order_id,
                "body": body,
                "customerOrder": customer.get("order"),
                "customerRefNo": customer.get("refNo"),
                "createdAt": now,
                "lastModified": now,
                **self._current_fields(body, now),
            }
            self.sales_orders.append(order)
            lifecycle.schedule(self, order)
            self.webhooks.notify("SALESORDER_CREATED", order)
        return order

    def _current_fields(self, body: dict, created: str) -> dict:
        """What changes after creation: status, version (a 64-bit counter from a random start), lines, header."""
        lines = [
            {**line, "lineId": number, "sortOrder": line.get("sortOrder") or number}
            for number, line in enumerate(body.get("orderLines") or [], start=1)
        ]
        customer = body.get("customer") or {}
        date = clock.normalized(body.get("date")) or clock.format_ticks(clock.day_of(clock.parse_ticks(created)))
        return {
            "status": body.get("status") or "Open",
            "statusChanges": 0,
            "version": self.version_rng.getrandbits(64),
            "lines": lines,
            "nextLineId": len(lines) + 1,
            "customerId": customer.get("id"),
            "locationId": customer.get("locationId"),
            "date": date,
            "requestOn": clock.normalized(body.get("requestOn")) or date,
            "currencyId": body.get("currencyId"),
            "description": body.get("description"),
            "note": body.get("note"),
            "shipping": copy.deepcopy(body.get("shipping")),
        }

    def find_order(self, tenant_id: str, order_type: str, order_id: str) -> dict | None:
        """The stored order itself (not a copy): read or change it only while holding `lock`."""
        with self.lock:
            return next(
                (
                    o
                    for o in self.sales_orders
                    if o["tenant_id"] == tenant_id and o["type"] == order_type and o["orderId"] == order_id
                ),
                None,
            )

    def holds(self, order: dict) -> bool:
        with self.lock:
            return any(stored is order for stored in self.sales_orders)

    def change_order(self, order: dict, apply: Callable[[dict], object]) -> dict:
        """Apply a change to a stored order as Visma would: a new version and lastModified, a webhook, and the
        lifecycle's next move when the status changed."""
        with self.lock:
            status = order["status"]
            apply(order)
            order["version"] = (order["version"] + 1) % 2**64
            order["lastModified"] = self.timestamp()
            if order["status"] != status:
                order["statusChanges"] += 1
                lifecycle.schedule(self, order)
            self.webhooks.notify("SALESORDER_UPDATED", order)
        return order

    def delete_order(self, order: dict) -> None:
        """The order is gone from Visma (its number is not used again), with a webhook."""
        with self.lock:
            self.sales_orders = [stored for stored in self.sales_orders if stored is not order]
            self.webhooks.notify("SALESORDER_DELETED", order)

    def _next_number(self, series: str, taken: set[str]) -> str:
        """The next free number of a tenant's number series for one order type."""
        while True:
            self.counters[series] = self.counters.get(series, 0) + 1
            number = f"{self.counters[series]:06d}"
            if number not in taken:
                return number

    def orders(self, tenant_id: str | None = None) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(o) for o in self.sales_orders if tenant_id is None or o["tenant_id"] == tenant_id]

    def later(self, seconds: float, action: Callable[[], object]) -> None:
        """Run `action` in `seconds` unless the state is reset (or the sandbox stopped) first."""
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        with self.lock:
            self.pending = [t for t in self.pending if t.is_alive()] + [timer]
        timer.start()

    def cancel_pending(self) -> None:
        with self.lock:
            for timer in self.pending:
                timer.cancel()
            self.pending = []
        self.webhooks.cancel()

    # --- faults, rate limits, request log -------------------------------------------------------------------------
    def set_faults(self, faults: list[dict]) -> None:
        parsed = [Fault.from_dict(f) for f in faults]
        with self.lock:
            self.faults = parsed

    def fault_for(self, method: str, path: str) -> Fault | None:
        with self.lock:
            return next((f for f in self.faults if f.fires(method, path, self.rng)), None)

    def latency_for(self, method: str, path: str) -> float:
        """Seconds to wait before answering: the fixed latency, or that of the longest matching key."""
        if isinstance(self.latency, float):
            return self.latency
        matches = [(len(key), seconds) for key, seconds in self.latency.items() if _matches(key, method, path)]
        return max(matches)[1] if matches else 0.0

    def take_rate_budget(self, key: str) -> tuple[bool, int, int]:
        """(allowed, remaining, seconds until the window resets) for one request of a client+tenant."""
        with self.lock:
            now = time.time()
            started, used = self.windows.get(key, (now, 0))
            if now - started >= self.rate_window:
                started, used = now, 0
            allowed = used < self.rate_limit
            if allowed:
                used += 1
            else:
                started += self.rate_penalty
            self.windows[key] = (started, used)
            return allowed, max(0, self.rate_limit - used), max(1, int(started + self.rate_window - now))

    def record(self, entry: dict) -> None:
        with self.lock:
            self.log.append(entry)

    def request_log(self) -> list[dict]:
        with self.lock:
            return list(self.log)

    # --- persistence ----------------------------------------------------------------------------------------------
    def save(self, path: str) -> None:
        with self.lock:
            data = {
                "customers": self._customers,
                "locations": self._locations,
                "orders": self.sales_orders,
                "counters": self.counters,
            }
        Path(path).write_text(json.dumps(data))

    def load(self, path: str) -> None:
        """Customers, locations and orders from `save()`; orders saved before versions and lines get them now."""
        data = json.loads(Path(path).read_text())
        with self.lock:
            self._customers, self.sales_orders, self.counters = data["customers"], data["orders"], data["counters"]
            self._locations = data.get("locations", {})
            for order in self.sales_orders:
                for key, value in self._current_fields(order["body"], order["createdAt"]).items():
                    order.setdefault(key, value)
                lifecycle.schedule(self, order)
