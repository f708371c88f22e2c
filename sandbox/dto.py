"""How a stored order reads through the API: SalesOrderDto, its lines, its list row, totals and its version (ETag).

Visma computes tax per line from the line's tax category (seed.TAX_RATES) and rounds each line to cents, so its
totals are not a plain sum of quantity times price."""

from __future__ import annotations

import base64
import math
import sys
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Context, Decimal

from . import clock, seed
from .lifecycle import CHANGEABLE, status_dto
from .state import SandboxState

_CENT = Decimal("0.01")
_MATH = Context(prec=800, rounding=ROUND_HALF_UP, Emax=MAX_EMAX, Emin=MIN_EMIN)
_LOCATION_KEYS = ("id", "name", "internalId", "countryId", "gln", "taxRegistrationId", "corporateId", "warehouseId")
_LINE_TYPES = {"StockItem": "GoodsForInventory", "NonStockItem": "NonStockItem", "MiscCharge": "MiscCharge"}


# --- version ----------------------------------------------------------------------------------------------------------
def version_text(order: dict) -> str:
    """SalesOrderDto.version: the order's 8-byte version counter in base64."""
    return base64.b64encode(order["version"].to_bytes(8, "big")).decode()


def etag(order: dict) -> str:
    return f'"{version_text(order)}"'


def etag_header(state: SandboxState, order: dict) -> dict[str, str]:
    return {"etag" if state.lowercase_headers else "ETag": etag(order)}


# --- money --------------------------------------------------------------------------------------------------------
def _decimal(value) -> Decimal:
    return Decimal(repr(float(value or 0)))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, context=_MATH)


def _number(value: Decimal) -> float:
    """A JSON number: values beyond a double (from absurd prices) are capped, never Infinity."""
    number = float(value)
    return number if math.isfinite(number) else math.copysign(sys.float_info.max, number)


def tax_category(state: SandboxState, line: dict) -> str:
    item = state.inventory.get(line.get("inventoryId"), {})
    return line.get("taxCategoryId") or item.get("taxCategoryId") or "HIGH"


def line_amount(line: dict) -> Decimal:
    return _cents(_MATH.multiply(_decimal(line.get("quantity")), _decimal(line.get("unitPrice"))))


def currency(state: SandboxState, order: dict) -> str:
    customer = state.find_customer(order["tenant_id"], order["customerId"]) or {}
    return order["currencyId"] or customer.get("currencyId") or seed.BASE_CURRENCY


def totals(state: SandboxState, order: dict) -> dict:
    net, tax, taxable, exempt = Decimal(0), Decimal(0), Decimal(0), Decimal(0)
    for line in order["lines"]:
        amount = line_amount(line)
        rate = seed.TAX_RATES.get(tax_category(state, line), Decimal(0))
        net, tax = _MATH.add(net, amount), _MATH.add(tax, _cents(_MATH.multiply(amount, rate)))
        if rate:
            taxable = _MATH.add(taxable, amount)
        else:
            exempt = _MATH.add(exempt, amount)
    total = _MATH.add(net, tax)
    status = order["status"]
    values = {
        "orderTotal": total,
        "taxableTotal": taxable,
        "taxExemptTotal": exempt,
        "taxTotal": tax,
        "discountTotal": Decimal(0),
        "freightTotal": Decimal(0),
        "unbilledAmount": total if status not in ("Completed", "Cancelled") else Decimal(0),
        "unshippedAmount": total if status in CHANGEABLE else Decimal(0),
    }
    rate = seed.RATES_TO_BASE.get(currency(state, order), Decimal(1))
    result = {}
    for name, value in values.items():
        result[name] = _number(value)
        result[f"{name}InBaseCurrency"] = _number(_cents(_MATH.multiply(value, rate)))
    return result


# --- reads --------------------------------------------------------------------------------------------------------
def list_row(state: SandboxState, order: dict) -> dict:
    customer = state.find_customer(order["tenant_id"], order["customerId"]) or {}
    sums = totals(state, order)
    return {
        "_links": None,
        "type": order["type"],
        "orderId": order["orderId"],
        "status": order["status"],
        "date": order["date"],
        "shippingScheduledDate": order["requestOn"],
        "customerId": order["customerId"],
        "customerName": customer.get("name"),
        "orderQty": _order_quantity(order),
        "orderTotal": sums["orderTotal"],
        "taxTotal": sums["taxTotal"],
        "currency": currency(state, order),
        "location": order["locationId"],
        "requestOn": order["requestOn"],
        "customerOrder": order["customerOrder"],
        "customerRefNo": order["customerRefNo"],
        "description": order["description"],
        "lastModified": clock.written(order["lastModified"], state.local_time_hours),
    }


def _order_quantity(order: dict) -> float:
    return _number(sum((_decimal(line.get("quantity")) for line in order["lines"]), Decimal(0)))


def order_dto(state: SandboxState, order: dict, expand: set[str]) -> dict:
    """SalesOrderDto. Like Visma, sections that were not asked for with `expand` (Note, Shipping) are left out."""
    customer = state.find_customer(order["tenant_id"], order["customerId"]) or {}
    section = {
        "internalId": customer.get("internalId") or 0,
        "id": order["customerId"],
        "name": customer.get("name"),
        "contactId": (order["body"].get("customer") or {}).get("contactId"),
        "order": order["customerOrder"],
        "refNo": order["customerRefNo"],
    }
    location = order_location(state, order)
    if order["locationId"] and location:
        section["location"] = {key: location.get(key) for key in _LOCATION_KEYS}
    dto = {
        "type": order["type"],
        "orderId": order["orderId"],
        "description": order["description"],
        "date": order["date"],
        "cancelBy": order["body"].get("cancelBy"),
        "lastModified": clock.written(order["lastModified"], state.local_time_hours),
        "requestOn": order["requestOn"],
        "isRotRutDeductible": False,
        "orderQty": _order_quantity(order),
        "currencyId": currency(state, order),
        "createdBy": None,
        "status": status_dto(order["status"]),
        "customer": section,
        "totals": totals(state, order),
        "originalOrderType": None,
        "originalOrderId": None,
        "version": version_text(order),
        "emailed": False,
    }
    if expand & {"Note", "All"}:
        dto["note"] = order["note"]
    if expand & {"Shipping", "All"}:
        dto["shipping"] = shipping_dto(order, location or {})
    return dto


def order_location(state: SandboxState, order: dict) -> dict | None:
    """The order's customer location, or the customer's MAIN one when none was set."""
    locations = state.locations(order["tenant_id"], order["customerId"] or "") or []
    wanted = order["locationId"] or "MAIN"
    return next((location for location in locations if location["id"] == wanted), None)


def shipping_dto(order: dict, location: dict) -> dict:
    """The delivery address and contact as sent, or the location's (overridesDefault false) when none was."""
    sent = order["shipping"] or {}
    address, contact = sent.get("address"), sent.get("contact")
    internal_id = location.get("internalId") or 0
    if address:
        country = address.get("countryId")
        address_dto = {
            "id": internal_id,
            "overridesDefault": True,
            **{key: address.get(key) for key in ("line1", "line2", "line3", "postalCode", "city")},
            "country": {"id": country, "name": seed.COUNTRIES.get(country or "")},
        }
        if address.get("stateId"):
            address_dto["county"] = {"id": address["stateId"], "name": None}
    else:
        address_dto = {**(location.get("address") or {"id": internal_id}), "overridesDefault": False}
    if contact:
        contact_dto = {
            "id": internal_id,
            "overridesDefault": True,
            **{key: contact.get(key) for key in ("name", "attention", "email", "phone1")},
        }
    else:
        contact_dto = {**(location.get("contact") or {"id": internal_id}), "overridesDefault": False}
    ship_via = sent.get("shipViaId") or location.get("shipViaId")
    dto = {
        "contact": contact_dto,
        "address": address_dto,
        "scheduledDate": sent.get("scheduledDate") or order["requestOn"],
        "shipSeparately": bool(sent.get("shipSeparately")),
        "rule": sent.get("rule") or location.get("shippingRule"),
        "residentialDelivery": bool(sent.get("residentialDelivery")),
        "saturdayDelivery": bool(sent.get("saturdayDelivery")),
        "insurance": bool(sent.get("insurance")),
        "priority": sent.get("priority") or 0,
    }
    if ship_via:
        dto["shipVia"] = {"id": ship_via, "description": None}
    return dto


def line_dto(state: SandboxState, order: dict, line: dict) -> dict:
    item = state.inventory.get(line["inventoryId"], {})
    quantity = _number(_decimal(line.get("quantity")))
    amount = _number(line_amount(line))
    open_order = order["status"] in CHANGEABLE
    return {
        "lineId": line["lineId"],
        "sortOrder": line["sortOrder"],
        "lineType": _LINE_TYPES.get(item.get("itemType")),
        "operation": line.get("operation") or "Issue",
        "orderDate": order["date"],
        "inventory": {
            "id": line["inventoryId"],
            "description": item.get("description"),
            "baseUnit": item.get("baseUnit"),
        },
        "unitOfMeasure": line.get("unitOfMeasure") or item.get("baseUnit"),
        "quantity": quantity,
        "baseOrderQuantity": quantity,
        "unitPrice": _number(_decimal(line.get("unitPrice"))),
        "description": line.get("description") or item.get("description"),
        "completed": order["status"] == "Completed",
        "extendedPrice": amount,
        "lineTotalBeforeDiscount": amount,
        "discountAmount": 0.0,
        "discountPercent": 0.0,
        "taxCategoryId": tax_category(state, line),
        "warehouseId": line.get("warehouseId") or "MAIN",
        "note": line.get("note"),
        "requestDate": line.get("requestDate") or order["requestOn"],
        "openQuantity": quantity if open_order else 0.0,
        "billedQuantity": quantity if order["status"] == "Completed" else 0.0,
        "quantityOnShipments": quantity if order["status"] in ("Shipping", "Completed") else 0.0,
        "hasManualDiscount": bool(line.get("hasManualDiscount")),
        "freeItem": False,
        "hasManualPrice": bool(line.get("hasManualPrice")),
        "openLine": open_order,
        "commissionable": False,
    }
