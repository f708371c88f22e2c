"""The Sales Order API v3 endpoints: pure functions from (state, tenant, request data) to (status, headers, body)."""

from __future__ import annotations

from urllib.parse import urlencode

from . import clock, dto, rules, schema, seed
from .problems import problem, validation_problem, validation_response
from .state import SandboxState

__all__ = ["BadRequest", "problem", "validation_problem"]

INT32_MAX = 2**31 - 1
ORDER_BY = {"created": "createdAt", "lastmodified": "lastModified", "orderid": "orderId"}
EXPANSIONS = {name.lower(): name for name in schema.spec()["components"]["schemas"]["SalesOrderExpansions"]["enum"]}
# Visma's 201 points at its load balancer, not at the host the client called.
LOCATION_BASE = "https://alb.salesorder.visma.net"

Response = tuple[int, dict[str, str], object]


class BadRequest(Exception):
    """A query parameter failed validation; `errors` maps each parameter to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = query.get(name, [None])[-1]
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest({name: [f"The value '{raw}' is not valid."]}) from None


def _page(
    items: list,
    query: dict[str, list[str]],
    base: str,
    path: str,
    limit: int,
    default_size: int = 100,
    silent_cap: int | None = None,
) -> dict:
    """One page of `items`. `silent_cap` serves at most that many without a 400, from `pageIndex * pageSize` (the
    requested size) on, and still links the next page while items remain after the ones served."""
    size, index = _int_param(query, "pageSize", min(default_size, limit)), _int_param(query, "pageIndex", 0)
    errors = {}
    if not 1 <= size <= limit:
        errors["pageSize"] = [f"The field pageSize must be between 1 and {limit}."]
    if index < 0:
        errors["pageIndex"] = [f"The field pageIndex must be between 0 and {INT32_MAX}."]
    if errors:
        raise BadRequest(errors)
    last_index = max(0, (len(items) - 1) // size)
    if index > last_index:
        raise BadRequest({"pageIndex": [f"The field pageIndex must be between 0 and {last_index}."]})
    served = min(size, silent_cap) if silent_cap else size
    chunk = items[index * size : index * size + served]
    next_page = None
    if index * size + served < len(items):
        params = {k: v[-1] for k, v in query.items() if k not in ("pageIndex", "pageSize")}
        next_page = f"{base}{path}?{urlencode({**params, 'pageSize': size, 'pageIndex': index + 1})}"
    return {"value": chunk, "nextPage": next_page, "totalCount": len(items)}


def get_customers(state: SandboxState, tenant_id: str, query: dict, base: str) -> Response:
    customers = sorted(state.customers(tenant_id), key=lambda c: c["id"])
    text = query.get("filter", [""])[-1].strip().lower()
    if text:
        customers = [
            c for c in customers if text in (c.get("id") or "").lower() or text in (c.get("name") or "").lower()
        ]
    page = _page(customers, query, base, "/api/v3/Customers", state.max_page_size, silent_cap=state.silent_page_cap)
    return 200, {}, page


def get_inventory(state: SandboxState, query: dict, base: str) -> Response:
    wanted = set(query.get("inventoryId", []))
    items = [
        {
            "inventoryId": item_id,
            "internalId": 100 + index,
            "description": item["description"],
            "baseUnit": item["baseUnit"],
            "availability": [],
            "attributes": {},
        }
        for index, (item_id, item) in enumerate(sorted(state.inventory.items()))
        if not wanted or item_id in wanted
    ]
    return 200, {}, _page(items, query, base, "/api/v3/Inventory", state.max_page_size)


def get_customer_locations(state: SandboxState, tenant_id: str, customer_id: str) -> Response:
    """The customer's active locations as a plain JSON array (CustomerLocationItemDto[]), not a page."""
    locations = state.locations(tenant_id, customer_id)
    if locations is None:
        return 404, {}, problem(404, "Not Found", f"Customer '{customer_id}' was not found.")
    return 200, {}, [{k: v for k, v in loc.items() if k != "active"} for loc in locations if loc["active"]]


def create_sales_order(state: SandboxState, tenant_id: str, body: object) -> Response:
    problems = schema.request_errors("NewSalesOrderCommand", body)
    if not problems:
        problems = _business_rule_errors(state, tenant_id, body)
    if problems:
        return validation_response(problems)
    order = state.store_order(tenant_id, body)
    if order is None:
        return 409, {}, problem(409, "Conflict", f"Sales order {body['type']} {body['orderId']} already exists.")
    location = f"{LOCATION_BASE}/api/v3/SalesOrders/{order['type']}/{order['orderId']}"
    return 201, {"location": location, **dto.etag_header(state, order)}, None


def _business_rule_errors(state: SandboxState, tenant_id: str, body: dict) -> list[tuple[str, str, str]]:
    problems = []
    if body["type"] not in seed.ORDER_TYPES:
        problems.append(
            ("type", "1704-InvalidOrderType", f"Order type '{body['type']}' does not exist or is inactive.")
        )
    if body.get("overrideNumberSeries") and not body.get("orderId"):
        problems.append(("orderId", "0001-NullNotAllowed", "orderId is required when overrideNumberSeries is true."))
    if body.get("status") not in (None, "", "Open", "Hold"):
        problems.append(("status", "0004-ValueNotAllowed", "Status must be empty, 'Open' or 'Hold'."))
    customer_id = (body.get("customer") or {}).get("id")
    customer = state.find_customer(tenant_id, customer_id) if customer_id else None
    if not customer_id:
        problems.append(("customer.id", "0001-NullNotAllowed", "Customer id is required."))
    elif customer is None:
        problems.append(("customer.id", "1400-CustomerLookupException", f"Customer '{customer_id}' was not found."))
    elif customer.get("status") != "Active":
        problems.append(
            ("customer.id", "1407-InvalidCustomerStatus", f"Customer status '{customer.get('status')}' is not valid.")
        )
    else:
        problems += rules.location_problems(state, tenant_id, customer_id, body["customer"].get("locationId"))
    problems += rules.address_problems(body, "shipping") + rules.address_problems(body, "billing")
    problems += rules.request_on_problems(body.get("requestOn"), body.get("date") or state.timestamp())
    for index, line in enumerate(body.get("orderLines") or []):
        problems += rules.line_problems(state, line, f"orderLines[{index}]")
    return problems


def _ticks(raw: str, name: str) -> int:
    ticks = clock.parse_ticks(raw)
    if ticks is None:
        raise BadRequest({name: [f"The value '{raw}' is not valid."]})
    return ticks


def list_sales_orders(state: SandboxState, tenant_id: str, query: dict, base: str, order_type: str | None) -> Response:
    field, _, direction = query.get("orderBy", ["orderId"])[-1].strip().partition(" ")
    if field.lower() not in ORDER_BY or direction.lower() not in ("", "asc", "desc"):
        raise BadRequest({"orderBy": ["orderBy must be created, lastModified or orderId, optionally asc or desc."]})
    key = ORDER_BY[field.lower()]
    since = query.get("modifiedSince", [""])[-1]
    threshold = _ticks(since, "modifiedSince") if since else None
    customer_id, status = query.get("customerId", [""])[-1], query.get("status", [""])[-1]
    with state.lock:
        orders = [
            o
            for o in state.sales_orders
            if o["tenant_id"] == tenant_id
            and (order_type is None or o["type"] == order_type)
            and (not customer_id or o["customerId"] == customer_id)
            and (not status or o["status"] == status)
            and (threshold is None or _ticks(o["lastModified"], "lastModified") >= threshold)
        ]
        orders.sort(
            key=lambda o: (o[key] if key == "orderId" else _ticks(o[key], key), o["type"], o["orderId"]),
            reverse=direction.lower() == "desc",
        )
        rows = [dto.list_row(state, o) for o in orders]
    if text := query.get("filter", [""])[-1].lower():
        rows = [
            r for r in rows if any(text in (r[k] or "").lower() for k in ("orderId", "customerOrder", "customerName"))
        ]
    path = "/api/v3/SalesOrders" + (f"/{order_type}" if order_type else "")
    caps = [cap for cap in (state.silent_page_cap, state.orders_page_cap) if cap]
    return 200, {}, _page(rows, query, base, path, state.max_page_size, silent_cap=min(caps, default=None))


def _expansions(query: dict) -> set[str]:
    """`expand` as ASP.NET binds it: repeated or comma-separated names of SalesOrderExpansions, any case."""
    names = [part.strip() for raw in query.get("expand", []) for part in raw.split(",") if part.strip()]
    unknown = [name for name in names if name.lower() not in EXPANSIONS]
    if unknown:
        raise BadRequest({"expand": [f"The value '{name}' is not valid." for name in unknown]})
    return {EXPANSIONS[name.lower()] for name in names}


def get_sales_order(
    state: SandboxState, tenant_id: str, order_type: str, order_id: str, lines: bool, query, base
) -> Response:
    expand = set() if lines else _expansions(query)
    with state.lock:
        order = state.find_order(tenant_id, order_type, order_id)
        if order is None:
            return 404, {}, problem(404, "Not Found", f"Sales order {order_type} {order_id} was not found.")
        if lines:
            rows = [dto.line_dto(state, order, line) for line in sorted(order["lines"], key=lambda li: li["lineId"])]
            path = f"/api/v3/SalesOrders/{order_type}/{order_id}/lines"
            return 200, {}, _page(rows, query, base, path, state.max_page_size, default_size=1000)
        return 200, dto.etag_header(state, order), dto.order_dto(state, order, expand)
