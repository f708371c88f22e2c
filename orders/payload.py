"""The only place that knows Visma's field names for orders: SalesOrder -> `NewSalesOrderCommand`.

Quantities and prices stay Decimals from the form to the wire: `to_json_bytes` writes each as the exact number it
holds (the json module refuses Decimals, and a float would round a price like 12345678901.2345).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING

from .numbers import plain

if TYPE_CHECKING:
    from .models import SalesOrder


def build(order: SalesOrder) -> dict:
    customer = {"id": order.customer.number, "refNo": order.reference}
    if order.customer_order:
        customer["order"] = order.customer_order
    payload: dict = {
        "type": order.order_type,
        "customer": customer,
        "date": f"{order.date.isoformat()}T00:00:00",
        "status": order.status,
        "orderLines": [_line(line) for line in order.lines.all()],
    }
    if order.description:
        payload["description"] = order.description
    if order.note:
        payload["note"] = order.note
    return payload


def _line(line) -> dict:
    data: dict = {"inventoryId": line.inventory_id, "quantity": line.quantity}
    if line.unit_price is not None:
        data["unitPrice"] = line.unit_price
        data["hasManualPrice"] = True
    if line.description:
        data["description"] = line.description
    if line.tax_category:
        data["taxCategoryId"] = line.tax_category
    return data


def to_json_bytes(body: dict) -> bytes:
    """The request body for `POST /api/v3/SalesOrders` (UTF-8), Decimals written as exact JSON numbers."""
    return to_json(body).encode()


def to_json(value, *, indent: int | None = None, _depth: int = 0) -> str:
    """`json.dumps(value, indent=indent, ensure_ascii=False)`, except that a Decimal is written as its number."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as a JSON number")
        return plain(value)
    if isinstance(value, dict):
        items = [
            f"{json.dumps(str(key), ensure_ascii=False)}: {to_json(item, indent=indent, _depth=_depth + 1)}"
            for key, item in value.items()
        ]
        return _container("{", items, "}", indent, _depth)
    if isinstance(value, list | tuple):
        items = [to_json(item, indent=indent, _depth=_depth + 1) for item in value]
        return _container("[", items, "]", indent, _depth)
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _container(opening: str, items: list[str], closing: str, indent: int | None, depth: int) -> str:
    if not items:
        return opening + closing
    if indent is None:
        return opening + ", ".join(items) + closing
    inner, outer = "\n" + " " * indent * (depth + 1), "\n" + " " * indent * depth
    return opening + inner + ("," + inner).join(items) + outer + closing


class ExactJSONEncoder(json.JSONEncoder):
    """For a JSONField holding a payload: Decimals are stored as the numbers they are."""

    def encode(self, o) -> str:
        return to_json(o, indent=self.indent)


class ExactJSONDecoder(json.JSONDecoder):
    """Reads numbers with a fraction back as Decimals, so a stored payload shows the numbers that were sent."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parse_float", Decimal)
        super().__init__(*args, **kwargs)
