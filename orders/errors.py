"""Visma's validation errors for an order, in staff terms: where the problem is, what Visma said, what to do."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .models import SalesOrder

HINTS = {
    "0001-NullNotAllowed": "A value Visma requires is missing.",
    "0001-EmptyNotAllowed": "A value Visma requires is empty.",
    "0002-InvalidLength": "The value is longer than Visma allows.",
    "0003-InvalidValue": "Visma does not accept this value.",
    "0004-ValueNotAllowed": "This value is not one Visma allows here.",
    "0005-InvalidState": "The order is in a state where Visma does not allow this change.",
    "0100-OutsideValidRange": "The number is outside the range Visma allows.",
    "1400-CustomerLookupException": "Visma does not know this customer: sync the tenant's customers; it may have "
    "been removed in Visma.",
    "1407-InvalidCustomerStatus": "The customer is not active in Visma (for example on hold). Ask the customer's "
    "accountant to activate it, sync customers, then resubmit.",
    "1408-OverrideCurrencyIdProhibited": "The customer's currency cannot be overridden on the order.",
    "1600-FinancialPeriodNotFound": "No open financial period covers the order date: change the date or ask the "
    "customer to open the period.",
    "1704-InvalidOrderType": "The order type does not exist or is inactive in this company; use SO unless the "
    "customer says otherwise.",
    "1802-InvalidWarehouseId": "The warehouse does not exist in this company.",
    "1804-InventoryIdNotFound": "Check the item number: pick one from the suggestions, which come from the "
    "company's inventory in Visma.",
    "1805-InvalidTaxCategoryId": "Leave the tax category empty to use the item's own, or use one that exists in the "
    "company.",
    "1808-InvalidUnitOfMeasure": "The unit of measure is not defined for this item.",
    "1809-InvalidQuantityForType": "Negative quantities are only allowed for credit and miscellaneous charge items.",
    "1900-OrderNumberSequenceNotFound": "The order type has no number series in Visma; ask the customer to set one up.",
}

HEADER_FIELDS = {
    "type": ("order_type", "Order type"),
    "customer.id": ("customer", "Customer"),
    "customer.order": ("customer_order", "Customer's order number"),
    "customer.refno": ("reference", "Portal reference"),
    "date": ("date", "Date"),
    "description": ("description", "Description"),
    "status": ("status", "Status in Visma"),
    "note": ("note", "Note"),
    "customer.locationid": ("location_id", "Delivery location"),
    "requeston": ("request_on", "Requested delivery date"),
    "currencyid": ("", "Currency"),
    "shipping": ("shipping", "Delivery"),
    "shipping.address": ("shipping", "Delivery address"),
    "shipping.address.line1": ("delivery_line1", "Delivery address line 1"),
    "shipping.address.line2": ("delivery_line2", "Delivery address line 2"),
    "shipping.address.line3": ("delivery_line3", "Delivery address line 3"),
    "shipping.address.postalcode": ("delivery_postal_code", "Delivery postal code"),
    "shipping.address.city": ("delivery_city", "Delivery city"),
    "shipping.address.countryid": ("delivery_country", "Delivery country"),
    "shipping.contact": ("shipping", "Delivery contact"),
    "shipping.contact.name": ("delivery_contact_name", "Contact name"),
    "shipping.contact.attention": ("delivery_contact_attention", "Attention"),
    "shipping.contact.phone1": ("delivery_contact_phone", "Contact phone"),
    "shipping.contact.email": ("delivery_contact_email", "Contact e-mail"),
}
LINE_FIELDS = {
    "inventoryid": ("inventory_id", "Item"),
    "description": ("description", "Description"),
    "quantity": ("quantity", "Quantity"),
    "unitprice": ("unit_price", "Unit price"),
    "taxcategoryid": ("tax_category", "Tax category"),
}
LINE_PATH = re.compile(r"^orderlines\[(\d+)\](?:\.(.+))?$")


@dataclass(frozen=True)
class Problem:
    """One thing Visma rejected. `line` is the line's position (1-based), None for the order header."""

    line: int | None
    field: str  # the portal's form field name, "" when Visma named none we know
    label: str
    message: str
    code: str = ""
    hint: str = ""

    @property
    def where(self) -> str:
        if self.line is None:
            return self.label or "Order"
        return f"Line {self.line}" + (f", {self.label}" if self.label else "")

    def __str__(self) -> str:
        return f"{self.where} — {self.message}"


def problems(order: SalesOrder) -> list[Problem]:
    """The last Visma rejection of the order, one Problem per message, header first, then lines in order."""
    stored = order.last_error_details if isinstance(order.last_error_details, dict) else {}
    field_errors = stored.get("errors") if isinstance(stored.get("errors"), dict) else {}
    details = (
        [d for d in stored.get("details") or [] if isinstance(d, dict)]
        if isinstance(stored.get("details"), list)
        else []
    )
    codes = _codes_by_property(details)
    found: list[Problem] = []
    for path, messages in field_errors.items():
        for message in messages if isinstance(messages, list) else [messages]:
            found.append(_problem(str(path), str(message), codes.get(str(path).lower(), "")))
    if not found:
        for detail in details:
            parameters = detail.get("parameters") if isinstance(detail.get("parameters"), dict) else {}
            found.append(
                _problem(
                    str(parameters.get("property") or ""),
                    str(detail.get("message") or ""),
                    str(detail.get("code") or ""),
                )
            )
    return sorted(found, key=lambda p: (p.line is not None, p.line or 0))


def by_field(order: SalesOrder) -> tuple[dict[str, list[Problem]], dict[int, dict[str, list[Problem]]]]:
    """Problems keyed for the order form: header field -> problems, and line position -> field -> problems."""
    header: dict[str, list[Problem]] = {}
    lines: dict[int, dict[str, list[Problem]]] = {}
    for problem in problems(order):
        if problem.line is None:
            header.setdefault(problem.field or "general", []).append(problem)
        else:
            lines.setdefault(problem.line, {}).setdefault(problem.field or "general", []).append(problem)
    return header, lines


def _problem(path: str, message: str, code: str) -> Problem:
    key = path.strip().lower()
    hint = HINTS.get(code, "")
    match = LINE_PATH.match(key)
    if match:
        field, label = LINE_FIELDS.get(match.group(2) or "", ("", match.group(2) or ""))
        return Problem(int(match.group(1)) + 1, field, label, message, code, hint)
    field, label = HEADER_FIELDS.get(key, ("", path))
    return Problem(None, field, label, message, code, hint)


def _codes_by_property(details: list) -> dict[str, str]:
    codes = {}
    for detail in details:
        parameters = detail.get("parameters") if isinstance(detail.get("parameters"), dict) else {}
        codes.setdefault(str(parameters.get("property") or "").lower(), str(detail.get("code") or ""))
    return codes
