"""Visma's business rules that the OpenAPI schema cannot express, shared by create, PATCH and the line endpoints.

Each check returns a list of problems: (property path, Visma error code, message)."""

from __future__ import annotations

from . import clock, seed
from .problems import Problem
from .state import SandboxState


def line_problems(state: SandboxState, line: dict, prefix: str) -> list[Problem]:
    """A new line (NewSalesOrderLineDto) or a changed one carrying its inventoryId."""
    problems = []
    item = state.inventory.get(line.get("inventoryId"))
    if item is None:
        problems.append(
            (f"{prefix}.inventoryId", "1804-InventoryIdNotFound", "InventoryId cannot be found or is invalid.")
        )
    problems += tax_category_problems(line, prefix)
    quantity = line.get("quantity")
    if quantity is not None and quantity < 0 and (item is None or item["itemType"] != "MiscCharge"):
        problems.append(
            (f"{prefix}.quantity", "1809-InvalidQuantityForType", "Quantity must be 0 or more for this item.")
        )
    return problems


def tax_category_problems(line: dict, prefix: str) -> list[Problem]:
    tax = line.get("taxCategoryId")
    if tax and tax not in seed.TAX_CATEGORIES:
        return [(f"{prefix}.taxCategoryId", "1805-InvalidTaxCategoryId", f"Tax category '{tax}' is not valid.")]
    return []


def location_problems(state: SandboxState, tenant_id: str, customer_id: str, location_id: str | None) -> list[Problem]:
    """`customer.locationId` must be an active location of the customer."""
    if location_id is None:
        return []
    locations = state.locations(tenant_id, customer_id) or []
    found = next((location for location in locations if location["id"] == location_id), None)
    if found is None:
        message = f"Location '{location_id}' is not a location of customer '{customer_id}'."
        return [("customer.locationId", "0004-ValueNotAllowed", message)]
    if not found["active"]:
        message = f"Location '{location_id}' of customer '{customer_id}' is not active."
        return [("customer.locationId", "0004-ValueNotAllowed", message)]
    return []


def address_problems(body: dict, section: str) -> list[Problem]:
    """An address, when given, needs its countryId: Visma fills nothing in from the customer."""
    address = (body.get(section) or {}).get("address")
    if address is not None and not address.get("countryId"):
        message = "countryId is required when an address is given."
        return [(f"{section}.address.countryId", "0001-NullNotAllowed", message)]
    return []


def request_on_problems(request_on: str | None, date: str) -> list[Problem]:
    """The requested delivery day may not come before the order's date (both compared as UTC days)."""
    request_ticks, date_ticks = clock.parse_ticks(request_on or ""), clock.parse_ticks(date)
    if request_ticks is None or date_ticks is None:
        return []
    if clock.day_of(request_ticks) < clock.day_of(date_ticks):
        return [("requestOn", "0100-OutsideValidRange", f"requestOn may not be before the order date {date[:10]}.")]
    return []
