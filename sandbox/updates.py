"""Changing an order through the API: PATCH the header, and add, change or delete lines.

PATCH (order and lines) and DELETE lines need `If-Match` with the order's current ETag: 428 without it, 412 when it
is another version. POST lines checks no version at all (Visma's document lists no 412 or 428 for it). Every
success is 202 with no body and the new ETag. Orders that are Shipping, Completed or Cancelled cannot change."""

from __future__ import annotations

from collections.abc import Callable

from . import clock, dto, rules, schema
from .lifecycle import API_STATUS_CHANGES, CHANGEABLE, STATUSES
from .problems import Problem, not_found, problem, validation_response
from .state import SandboxState

Response = tuple[int, dict[str, str], object]
MAX_DELETE_IDS = 1000
_APPLIED_CUSTOMER_FIELDS = {"order": "customerOrder", "refNo": "customerRefNo", "locationId": "locationId"}


def patch_order(state: SandboxState, tenant_id: str, order_type: str, order_id: str, body, if_match) -> Response:
    if problems := schema.request_errors("PatchSalesOrderCommand", body):
        return validation_response(problems)
    with state.lock:
        order, refused = _locate(state, tenant_id, order_type, order_id, if_match)
        if refused:
            return refused
        if body.get("status") is not None:
            problems = _status_problems(order, body)
            apply = _set_status(body["status"])
        else:
            problems = _changeable(order) or _header_problems(state, order, body)
            apply = _patch_header(body)
        if problems:
            return validation_response(problems)
        return _accepted(state, order, apply)


def add_lines(state: SandboxState, tenant_id: str, order_type: str, order_id: str, body) -> Response:
    if problems := schema.request_errors("AddSalesOrderLinesCommand", body):
        return validation_response(problems)
    with state.lock:
        order = state.find_order(tenant_id, order_type, order_id)
        if order is None:
            return not_found(order_type, order_id)
        lines = body.get("lines") or []
        problems = _changeable(order) or _some_lines(lines)
        for index, line in enumerate(lines):
            problems += rules.line_problems(state, line, f"lines[{index}]")
        if problems:
            return validation_response(problems)
        return _accepted(state, order, lambda changed: append_lines(changed, lines))


def patch_lines(state: SandboxState, tenant_id: str, order_type: str, order_id: str, body, if_match) -> Response:
    if problems := schema.request_errors("PatchSalesOrderLinesCommand", body):
        return validation_response(problems)
    with state.lock:
        order, refused = _locate(state, tenant_id, order_type, order_id, if_match)
        if refused:
            return refused
        lines = body.get("lines") or []
        problems = _changeable(order) or _some_lines(lines) or _line_change_problems(state, order, lines)
        if problems:
            return validation_response(problems)
        return _accepted(state, order, lambda changed: change_lines(changed, lines))


def delete_lines(state: SandboxState, tenant_id: str, order_type: str, order_id: str, raw_ids, if_match) -> Response:
    ids, problems = _line_ids(raw_ids)
    if problems:
        return validation_response(problems)
    with state.lock:
        order, refused = _locate(state, tenant_id, order_type, order_id, if_match)
        if refused:
            return refused
        known = {line["lineId"] for line in order["lines"]}
        missing = [line_id for line_id in ids if line_id not in known]
        problems = _changeable(order) or [
            ("ids", "0200-LineIdDoesNotExist", f"Line Id {line_id}. Line with provided Id does not exist in the order.")
            for line_id in missing
        ]
        if problems:
            return validation_response(problems)
        return _accepted(state, order, lambda changed: remove_lines(changed, set(ids)))


# --- shared steps -------------------------------------------------------------------------------------------------
def _locate(state: SandboxState, tenant_id: str, order_type: str, order_id: str, if_match: str | None):
    """(order, None), or (None, the 404, 428 or 412 answer)."""
    order = state.find_order(tenant_id, order_type, order_id)
    if order is None:
        return None, not_found(order_type, order_id)
    if not (if_match or "").strip():
        return None, (428, {}, problem(428, "Precondition Required", "If-Match header was not supplied."))
    if if_match.strip() != dto.etag(order):
        detail = "Order version does not match with If-Match header."
        return None, (412, {}, problem(412, "Precondition Failed", detail))
    return order, None


def _accepted(state: SandboxState, order: dict, apply: Callable[[dict], object]) -> Response:
    state.change_order(order, apply)
    return 202, dto.etag_header(state, order), None


def _changeable(order: dict) -> list[Problem]:
    if order["status"] in CHANGEABLE:
        return []
    message = f"Sales order {order['type']} {order['orderId']} is {order['status']} and can no longer be changed."
    return [("status", "0005-InvalidState", message)]


def _some_lines(lines: list) -> list[Problem]:
    return [] if lines else [("lines", "0001-EmptyNotAllowed", "Give at least one line.")]


# --- header -------------------------------------------------------------------------------------------------------
def _status_problems(order: dict, body: dict) -> list[Problem]:
    others = sorted(key for key, value in body.items() if key != "status" and value is not None)
    wanted = body["status"]
    if others:
        message = f"When status is set, no other field may be changed in the same call ({', '.join(others)})."
        return [("status", "0004-ValueNotAllowed", message)]
    if wanted not in STATUSES:
        return [("status", "0004-ValueNotAllowed", f"Status must be one of {', '.join(STATUSES)}.")]
    if (order["status"], wanted) not in API_STATUS_CHANGES:
        return [("status", "0005-InvalidState", f"The status cannot change from {order['status']} to {wanted}.")]
    return []


def _set_status(status: str) -> Callable[[dict], object]:
    return lambda order: order.update(status=status)


def _header_problems(state: SandboxState, order: dict, body: dict) -> list[Problem]:
    customer = body.get("customer") or {}
    problems = rules.location_problems(state, order["tenant_id"], order["customerId"], customer.get("locationId"))
    if body.get("requestOn") is not None:
        problems += rules.request_on_problems(body["requestOn"], order["date"])
    shipping = body.get("shipping") or {}
    if shipping.get("address") is not None:
        merged = _merged((order["shipping"] or {}).get("address"), shipping["address"])
        problems += rules.address_problems({"shipping": {"address": merged}}, "shipping")
    return problems


def _patch_header(body: dict) -> Callable[[dict], object]:
    def apply(order: dict) -> None:
        for name in ("description", "note"):
            if body.get(name) is not None:
                order[name] = body[name]
        if body.get("requestOn") is not None:
            order["requestOn"] = clock.normalized(body["requestOn"])
        for name, field in _APPLIED_CUSTOMER_FIELDS.items():
            if (body.get("customer") or {}).get(name) is not None:
                order[field] = body["customer"][name]
        shipping = body.get("shipping") or {}
        for part in ("address", "contact"):
            if shipping.get(part) is not None:
                order["shipping"] = order["shipping"] or {}
                order["shipping"][part] = _merged(order["shipping"].get(part), shipping[part])

    return apply


def _merged(stored: dict | None, given: dict) -> dict:
    """A PATCH changes the fields it sends (not null) and keeps the others."""
    return {**(stored or {}), **{key: value for key, value in given.items() if value is not None}}


# --- lines --------------------------------------------------------------------------------------------------------
def _line_change_problems(state: SandboxState, order: dict, lines: list[dict]) -> list[Problem]:
    stored = {line["lineId"]: line for line in order["lines"]}
    problems, seen = [], set()
    for index, line in enumerate(lines):
        prefix, line_id = f"lines[{index}]", line["lineId"]
        if line_id in seen:
            problems.append((f"{prefix}.lineId", "1817-LineIdIsNotUnique", f"Line Id {line_id} is given twice."))
        seen.add(line_id)
        if line_id not in stored:
            message = f"Line Id {line_id}. Line with provided Id does not exist in the order."
            problems.append((f"{prefix}.lineId", "0200-LineIdDoesNotExist", message))
            continue
        merged = {"inventoryId": stored[line_id]["inventoryId"], **_merged({}, line)}
        problems += rules.line_problems(state, merged, prefix)
    return problems


def append_lines(order: dict, lines: list[dict]) -> None:
    """New lines get the next unused lineIds (never one a deleted line had) and sort after the others."""
    for line in lines:
        line_id = order["nextLineId"]
        order["nextLineId"] += 1
        sort_order = line.get("sortOrder") or max((li["sortOrder"] for li in order["lines"]), default=0) + 1
        order["lines"].append({**line, "lineId": line_id, "sortOrder": sort_order})


def change_lines(order: dict, lines: list[dict]) -> None:
    stored = {line["lineId"]: line for line in order["lines"]}
    for line in lines:
        stored[line["lineId"]].update(_merged({}, line))


def remove_lines(order: dict, line_ids: set[int]) -> None:
    order["lines"] = [line for line in order["lines"] if line["lineId"] not in line_ids]


def _line_ids(raw_ids: list[str]) -> tuple[list[int], list[Problem]]:
    """`ids` as Visma binds it: repeated or comma-separated whole numbers, 1 to 1000 of them."""
    parts = [part.strip() for raw in raw_ids for part in raw.split(",") if part.strip()]
    if not parts:
        return [], [("ids", "0001-NullNotAllowed", "Give the ids of the lines to delete.")]
    if len(parts) > MAX_DELETE_IDS:
        return [], [("ids", "0100-OutsideValidRange", f"At most {MAX_DELETE_IDS} line ids can be deleted at once.")]
    bad = [part for part in parts if not _is_int32(part)]
    if bad:
        return [], [("ids", "0003-InvalidValue", f"The value '{part}' is not valid.") for part in bad]
    return [int(part) for part in parts], []


def _is_int32(text: str) -> bool:
    return text.lstrip("-").isdigit() and -(2**31) <= int(text) < 2**31
