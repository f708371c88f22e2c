"""The only place that knows Visma's field names for orders: SalesOrder -> `NewSalesOrderCommand`.

Quantities and prices stay Decimals from the form to the wire (`core.exact_json` writes each as the exact number it
holds: the json module refuses Decimals, and a float would round a price like 12345678901.2345).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING

from core import exact_json

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


def to_json(value, *, indent: int | None = None) -> str:
    """The payload as JSON, each Decimal written as the exact number it holds."""
    return exact_json.dumps(value, indent=indent)


class ExactJSONEncoder(json.JSONEncoder):
    """For a JSONField holding a payload: Decimals are stored as the numbers they are."""

    def encode(self, o) -> str:
        return to_json(o, indent=self.indent)


class ExactJSONDecoder(json.JSONDecoder):
    """Reads numbers with a fraction back as Decimals, so a stored payload shows the numbers that were sent."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parse_float", Decimal)
        super().__init__(*args, **kwargs)
