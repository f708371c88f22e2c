"""The only place that knows Visma's field names for orders: SalesOrder -> `NewSalesOrderCommand`.

Quantities and prices stay Decimals from the form to the wire (`core.exact_json` writes each as the exact number it
holds: the json module refuses Decimals, and a float would round a price like 12345678901.2345).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING

from core import exact_json

from . import delivery

if TYPE_CHECKING:
    from .models import SalesOrder


def build(order: SalesOrder) -> dict:
    customer = {"id": order.customer.number, "refNo": order.reference}
    if order.customer_order:
        customer["order"] = order.customer_order
    if order.location_id:
        customer["locationId"] = order.location_id
    payload: dict = {
        "type": order.order_type,
        "customer": customer,
        "date": _date_time(order.date),
        "status": order.status,
        "orderLines": [_line(line) for line in order.lines.all()],
    }
    if currency := (order.customer.currency or "").strip().upper():
        payload["currencyId"] = currency  # the customer's own: the portal converts nothing
    if order.request_on:
        payload["requestOn"] = _date_time(order.request_on)
    if shipping := _shipping(order):
        payload["shipping"] = shipping
    if order.description:
        payload["description"] = order.description
    if order.note:
        payload["note"] = order.note
    return payload


def _date_time(day) -> str:
    """A date as Visma's date-time fields take it: midnight, no offset (which Visma reads as UTC)."""
    return f"{day.isoformat()}T00:00:00"


def _shipping(order: SalesOrder) -> dict:
    """The delivery address and contact for this order only, each sent complete (every field, null where nothing was
    given) or not at all: Visma fills in nothing an address or contact leaves out."""
    shipping: dict = {}
    if delivery.has_address(order):
        shipping["address"] = {
            "line1": order.delivery_line1 or None,
            "line2": order.delivery_line2 or None,
            "line3": order.delivery_line3 or None,
            "postalCode": order.delivery_postal_code or None,
            "city": order.delivery_city or None,
            "countryId": order.delivery_country or None,
        }
    if delivery.has_contact(order):
        shipping["contact"] = {
            "name": order.delivery_contact_name or None,
            "attention": order.delivery_contact_attention or None,
            "phone1": order.delivery_contact_phone or None,
            "email": order.delivery_contact_email or None,
        }
    return shipping


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
