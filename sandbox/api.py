"""The Sales Order API v3 endpoints: pure functions from (state, tenant, request data) to (status, headers, body)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from urllib.parse import urlencode

from . import schema, seed
from .state import SandboxState

INT32_MAX = 2**31 - 1
ORDER_BY = {"created": "createdAt", "lastmodified": "lastModified", "orderid": "orderId"}
# Visma's 201 points at its load balancer, not at the host the client called.
LOCATION_BASE = "https://alb.salesorder.visma.net"
_RFC9110 = "https://tools.ietf.org/html/rfc9110#section-"
_PROBLEM_TYPES = {
    400: f"{_RFC9110}15.5.1",
    401: f"{_RFC9110}15.5.2",
    403: f"{_RFC9110}15.5.4",
    404: f"{_RFC9110}15.5.5",
    405: f"{_RFC9110}15.5.6",
    409: f"{_RFC9110}15.5.10",
    415: f"{_RFC9110}15.5.16",
    429: "https://tools.ietf.org/html/rfc6585#section-4",
    500: f"{_RFC9110}15.6.1",
    503: f"{_RFC9110}15.6.4",
}

Response = tuple[int, dict[str, str], object]


class BadRequest(Exception):
    """A query parameter failed validation; `errors` maps each parameter to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def trace_id() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


def problem(status: int, title: str, detail: str = "", **extra) -> dict:
    body = {"type": _PROBLEM_TYPES.get(status, f"{_RFC9110}15.{5 if status < 500 else 6}"), "title": title}
    body.update({"status": status, "detail": detail or None, "instance": None, **extra, "traceId": trace_id()})
    return body


def validation_problem(errors: dict[str, list[str]], **extra) -> dict:
    """ASP.NET Core's body for a request that fails model validation."""
    return {
        "type": _PROBLEM_TYPES[400],
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": errors,
        **extra,
        "traceId": trace_id(),
    }


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


def create_sales_order(state: SandboxState, tenant_id: str, body: object) -> Response:
    problems = schema.request_errors("NewSalesOrderCommand", body)
    if not problems:
        problems = _business_rule_errors(state, tenant_id, body)
    if problems:
        errors: dict[str, list[str]] = {}
        for path, _code, message in problems:
            errors.setdefault(path, []).append(message)
        details = [
            {"code": code, "message": message, "parameters": {"property": path}} for path, code, message in problems
        ]
        return 400, {}, validation_problem(errors, details=details)
    order = state.store_order(tenant_id, body)
    if order is None:
        return 409, {}, problem(409, "Conflict", f"Sales order {body['type']} {body['orderId']} already exists.")
    return 201, {"location": f"{LOCATION_BASE}/api/v3/SalesOrders/{order['type']}/{order['orderId']}"}, None


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
    for index, line in enumerate(body.get("orderLines") or []):
        item = state.inventory.get(line["inventoryId"])
        prefix = f"orderLines[{index}]"
        if item is None:
            problems.append(
                (f"{prefix}.inventoryId", "1804-InventoryIdNotFound", "InventoryId cannot be found or is invalid.")
            )
        tax = line.get("taxCategoryId")
        if tax and tax not in seed.TAX_CATEGORIES:
            problems.append(
                (f"{prefix}.taxCategoryId", "1805-InvalidTaxCategoryId", f"Tax category '{tax}' is not valid.")
            )
        quantity = line.get("quantity", 0)
        if quantity < 0 and (item is None or item["itemType"] != "MiscCharge"):
            problems.append(
                (f"{prefix}.quantity", "1809-InvalidQuantityForType", "Quantity must be 0 or more for this item.")
            )
    return problems


def _list_dto(state: SandboxState, tenant_id: str, order: dict) -> dict:
    body = order["body"]
    customer = state.find_customer(tenant_id, body["customer"].get("id")) or {}
    lines = body.get("orderLines") or []
    date = body.get("date") or order["createdAt"]
    return {
        "_links": None,
        "type": order["type"],
        "orderId": order["orderId"],
        "status": body.get("status") or "Open",
        "date": date,
        "shippingScheduledDate": date,
        "customerId": body["customer"].get("id"),
        "customerName": customer.get("name"),
        "orderQty": float(sum(line.get("quantity", 0) for line in lines)),
        "orderTotal": float(sum(line.get("quantity", 0) * (line.get("unitPrice") or 0) for line in lines)),
        "taxTotal": 0.0,
        "currency": body.get("currencyId") or customer.get("currencyId"),
        "location": None,
        "requestOn": body.get("requestOn") or date,
        "customerOrder": order["customerOrder"],
        "customerRefNo": order["customerRefNo"],
        "description": body.get("description"),
        "lastModified": order["lastModified"],
    }


def _parse_datetime(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest({"modifiedSince": [f"The value '{raw}' is not valid."]}) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def list_sales_orders(state: SandboxState, tenant_id: str, query: dict, base: str, order_type: str | None) -> Response:
    field, _, direction = query.get("orderBy", ["orderId"])[-1].strip().partition(" ")
    if field.lower() not in ORDER_BY or direction.lower() not in ("", "asc", "desc"):
        raise BadRequest({"orderBy": ["orderBy must be created, lastModified or orderId, optionally asc or desc."]})
    key = ORDER_BY[field.lower()]
    orders = [o for o in state.orders(tenant_id) if order_type is None or o["type"] == order_type]
    if customer_id := query.get("customerId", [""])[-1]:
        orders = [o for o in orders if o["body"]["customer"].get("id") == customer_id]
    if since := query.get("modifiedSince", [""])[-1]:
        threshold = _parse_datetime(since)
        orders = [o for o in orders if _parse_datetime(o["lastModified"]) >= threshold]
    orders.sort(
        key=lambda o: (o[key] if key == "orderId" else _parse_datetime(o[key]), o["type"], o["orderId"]),
        reverse=direction.lower() == "desc",
    )
    rows = [_list_dto(state, tenant_id, o) for o in orders]
    if status := query.get("status", [""])[-1]:
        rows = [r for r in rows if r["status"] == status]
    if text := query.get("filter", [""])[-1].lower():
        rows = [
            r for r in rows if any(text in (r[k] or "").lower() for k in ("orderId", "customerOrder", "customerName"))
        ]
    path = "/api/v3/SalesOrders" + (f"/{order_type}" if order_type else "")
    return 200, {}, _page(rows, query, base, path, state.max_page_size)


def get_sales_order(
    state: SandboxState, tenant_id: str, order_type: str, order_id: str, lines: bool, query, base
) -> Response:
    order = next((o for o in state.orders(tenant_id) if o["type"] == order_type and o["orderId"] == order_id), None)
    if order is None:
        return 404, {}, problem(404, "Not Found", f"Sales order {order_type} {order_id} was not found.")
    if lines:
        rows = [
            {
                "lineId": index + 1,
                "sortOrder": index + 1,
                "inventory": {
                    "id": line["inventoryId"],
                    "description": state.inventory.get(line["inventoryId"], {}).get("description"),
                    "baseUnit": state.inventory.get(line["inventoryId"], {}).get("baseUnit"),
                },
                "quantity": float(line.get("quantity", 0)),
                "unitPrice": float(line.get("unitPrice") or 0),
                "description": line.get("description"),
                "taxCategoryId": line.get("taxCategoryId"),
            }
            for index, line in enumerate(order["body"].get("orderLines") or [])
        ]
        path = f"/api/v3/SalesOrders/{order_type}/{order_id}/lines"
        return 200, {}, _page(rows, query, base, path, state.max_page_size, default_size=1000)
    body, listed = order["body"], _list_dto(state, tenant_id, order)
    dto = {
        "type": order["type"],
        "orderId": order["orderId"],
        "description": body.get("description"),
        "date": listed["date"],
        "lastModified": order["lastModified"],
        "note": body.get("note"),
        "currencyId": listed["currency"],
        "createdBy": None,
        "status": {"description": listed["status"], "cancelled": False, "hold": listed["status"] == "Hold"},
        "customer": {
            "id": body["customer"].get("id"),
            "name": listed["customerName"],
            "order": order["customerOrder"],
            "refNo": order["customerRefNo"],
        },
        "totals": {"orderTotal": listed["orderTotal"], "taxTotal": 0.0},
    }
    return 200, {"ETag": f'"{order["orderId"]}-1"'}, dto
