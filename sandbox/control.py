"""Changing an order as someone working in Visma would, through POST /_sandbox/orders/<type>/<orderId>.

Body (any of these together; one call is one change: one new version, one webhook):
    {"tenant": "<tenant id>",            # needed only when two tenants have an order with this type and number
     "status": "Open" | "Hold" | "BackOrder" | "Shipping" | "Completed" | "Cancelled",   # any move, no API rules,
               # or a word the API never sets ("CreditHold", "PendingApproval", "Invoiced", "Closed")
     "description": "...",
     "lines": [{"lineId": 1, "quantity": 3, "unitPrice": 10},   # change a line (quantity, unitPrice,
               {"inventoryId": "STOCK-200", "quantity": 1}],    #   description, taxCategoryId), or add one
     "delete_lines": [2]}
or {"delete": true} (with "tenant" only): the order is gone, as when someone deletes it in Visma; its lists and reads
answer as for an order that never was, and a SALESORDER_DELETED notification goes out."""

from __future__ import annotations

from . import dto, seed
from .lifecycle import OTHER_STATUSES, STATUSES
from .state import SandboxState
from .updates import append_lines, change_lines, remove_lines

_KEYS = {"tenant", "status", "description", "lines", "delete_lines", "delete"}
_LINE_FIELDS = {"lineId", "inventoryId", "quantity", "unitPrice", "description", "taxCategoryId"}


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def order_view(order: dict) -> dict:
    """An order for GET /_sandbox/orders: as stored, with its version as the API shows it, and its ETag."""
    return {**order, "version": dto.version_text(order), "etag": dto.etag(order)}


def edit_order(state: SandboxState, order_type: str, order_id: str, body: object) -> dict:
    """The changed order (order_view); ControlError(404 or 400) when the order or the change is not right."""
    if not isinstance(body, dict) or not body or set(body) - _KEYS or set(body) == {"tenant"}:
        raise ControlError(400, f"send a JSON object with some of: {', '.join(sorted(_KEYS))}")
    with state.lock:
        order = _find(state, order_type, order_id, body.get("tenant"))
        if "delete" in body:
            if body["delete"] is not True or set(body) - {"tenant", "delete"}:
                raise ControlError(400, 'delete the order with {"delete": true} and nothing else but its tenant')
            state.delete_order(order)
            return {**order_view(order), "deleted": True}
        changes = _checked(state, order, body)

        def apply(changed: dict) -> None:
            for change in changes:
                change(changed)

        state.change_order(order, apply)
        return order_view(order)


def _find(state: SandboxState, order_type: str, order_id: str, tenant: object) -> dict:
    found = [
        o
        for o in state.sales_orders
        if o["type"] == order_type and o["orderId"] == order_id and tenant in (None, o["tenant_id"])
    ]
    if not found:
        raise ControlError(404, f"no sales order {order_type} {order_id}" + (f" in tenant {tenant}" if tenant else ""))
    if len(found) > 1:
        raise ControlError(400, f"several tenants have sales order {order_type} {order_id}: give its tenant")
    return found[0]


def _checked(state: SandboxState, order: dict, body: dict) -> list:
    """The changes the body asks for, each checked before any is made."""
    changes = []
    if "status" in body:
        if body["status"] not in STATUSES + OTHER_STATUSES:
            raise ControlError(400, f"status must be one of {', '.join(STATUSES + OTHER_STATUSES)}")
        changes.append(lambda changed: changed.update(status=body["status"]))
    if "description" in body:
        if not isinstance(body["description"], str | None):
            raise ControlError(400, "description must be text or null")
        changes.append(lambda changed: changed.update(description=body["description"]))
    if "delete_lines" in body:
        doomed = _line_ids(order, body["delete_lines"])
        changes.append(lambda changed: remove_lines(changed, doomed))
    if "lines" in body:
        edited, added = _lines(state, order, body["lines"])
        changes.append(lambda changed: change_lines(changed, edited))
        changes.append(lambda changed: append_lines(changed, added))
    return changes


def _line_ids(order: dict, ids: object) -> set[int]:
    known = {line["lineId"] for line in order["lines"]}
    if not isinstance(ids, list) or not all(isinstance(i, int) and i in known for i in ids):
        raise ControlError(400, f"delete_lines must list lineIds the order has: {sorted(known)}")
    return set(ids)


def _lines(state: SandboxState, order: dict, lines: object) -> tuple[list[dict], list[dict]]:
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise ControlError(400, "lines must be a list of objects")
    known = {line["lineId"] for line in order["lines"]}
    edited, added = [], []
    for line in lines:
        if set(line) - _LINE_FIELDS:
            raise ControlError(400, f"a line may only have {', '.join(sorted(_LINE_FIELDS))}")
        for name in ("quantity", "unitPrice"):
            if name in line and (isinstance(line[name], bool) or not isinstance(line[name], int | float)):
                raise ControlError(400, f"{name} must be a number")
        if line.get("taxCategoryId") is not None and line["taxCategoryId"] not in seed.TAX_CATEGORIES:
            raise ControlError(400, f"taxCategoryId must be one of {', '.join(seed.TAX_CATEGORIES)}")
        if "lineId" in line:
            if line["lineId"] not in known:
                raise ControlError(400, f"lineId {line['lineId']!r} is not a line of the order")
            if "inventoryId" in line:
                raise ControlError(400, "a line keeps its inventoryId: delete it and add another")
            edited.append(line)
        elif line.get("inventoryId") in state.inventory:
            added.append(line)
        else:
            raise ControlError(400, f"a new line needs a known inventoryId, not {line.get('inventoryId')!r}")
    return edited, added
