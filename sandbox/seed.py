"""Deterministic seed data: one service application, three tenants, customers and inventory items."""

from __future__ import annotations

import random

DEMO_CLIENT_ID = "portal-demo-app"
DEMO_APP_NAME = "Sales order portal (sandbox)"
DEFAULT_TOKEN_LIFETIME = 3600

SCOPE_READ = "visma.net.erp.salesorder:read"
SCOPE_WRITE = "visma.net.erp.salesorder:write"

TENANT_FULL = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
TENANT_READ_ONLY = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"
TENANT_NOT_APPROVED = "c0ffee00-1234-4abc-8def-0123456789ab"

# tenant id -> (name, approved the app?, scopes it approved)
TENANTS: dict[str, tuple[str, bool, tuple[str, ...]]] = {
    TENANT_FULL: ("Nordlys Handel AS", True, (SCOPE_READ, SCOPE_WRITE)),
    TENANT_READ_ONLY: ("Fjord Read-Only AB", True, (SCOPE_READ,)),
    TENANT_NOT_APPROVED: ("Vidde Ventures Oy", False, ()),
}

ORDER_TYPES = ("SO", "QT", "IN", "CS")
TAX_CATEGORIES = ("HIGH", "MEDIUM", "LOW", "EXEMPT")

_FIRST = ("Nordlys", "Fjell", "Bølge", "Skog", "Havbris", "Solstråle", "Isbre", "Åsen", "Lyng", "Myr", "Øy", "Vik")
_SECOND = ("Handel", "Bygg", "Marin", "Bakeri", "Verksted", "Elektro", "Transport", "Design", "Fisk", "Tre")
_FORMS = ("AS", "AB", "Oy", "ApS", "ASA")
_CITIES = (("0150", "NO"), ("5003", "NO"), ("111 22", "SE"), ("00100", "FI"), ("1050", "DK"), ("7010", "NO"))
_STATUSES = ("Active",) * 8 + ("OnHold", "Inactive")
_STREETS = ("Storgata", "Kungsgatan", "Mannerheimintie", "Strøget")

INVENTORY = [
    # id, description, base unit, tax category, item type
    ("STOCK-100", "Steel bolt M8 (box of 100)", "BOX", "HIGH", "StockItem"),
    ("STOCK-200", "Oak plank 2 m", "PCS", "HIGH", "StockItem"),
    ("STOCK-300", "Nordic wool blanket", "PCS", "HIGH", "StockItem"),
    ("STOCK-400", "Coffee beans 1 kg", "KG", "MEDIUM", "StockItem"),
    ("STOCK-500", "Printed book: Fjord guide", "PCS", "LOW", "StockItem"),
    ("STOCK-600", "LED lamp 9 W", "PCS", "HIGH", "StockItem"),
    ("STOCK-700", "Fish crate, frozen cod", "KG", "MEDIUM", "StockItem"),
    ("STOCK-800", "Safety gloves (pair)", "PAIR", "HIGH", "StockItem"),
    ("STOCK-900", "Copper cable 50 m", "ROLL", "HIGH", "StockItem"),
    ("SERV-100", "Installation hour", "HOUR", "HIGH", "NonStockItem"),
    ("SERV-200", "Consulting hour", "HOUR", "HIGH", "NonStockItem"),
    ("SERV-300", "Export documentation", "PCS", "EXEMPT", "NonStockItem"),
    ("FREIGHT", "Freight", "PCS", "HIGH", "NonStockItem"),
    ("DISCOUNT", "Credit / adjustment", "PCS", "HIGH", "MiscCharge"),
    ("GIFTCARD", "Gift card", "PCS", "EXEMPT", "NonStockItem"),
]


def customers_for(tenant_id: str, count: int) -> list[dict]:
    """`CustomerDto`s for a tenant; the same tenant and count always give the same customers."""
    rng = random.Random(f"{tenant_id}:{count}")
    customers = []
    for index in range(count):
        postal_code, country = rng.choice(_CITIES)
        number = str(10000 + index)
        name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_FORMS)}"
        customers.append(
            {
                "internalId": 5000 + index,
                "id": number,
                "name": name,
                "currencyId": {"NO": "NOK", "SE": "SEK", "FI": "EUR", "DK": "DKK"}[country],
                "customerClassId": rng.choice(("DOMESTIC", "EXPORT", "RETAIL")),
                "defaultLocation": {
                    "id": "MAIN",
                    "name": "Primary location",
                    "internalId": 9000 + index,
                    "countryId": country,
                    "gln": None,
                    "taxRegistrationId": None,
                    "corporateId": None,
                    "warehouseId": "MAIN",
                },
                "addressLine1": f"{rng.choice(_STREETS)} {rng.randint(1, 120)}",
                "addressLine2": None,
                "postalCode": postal_code,
                "country": country,
                "salutation": None,
                "status": _STATUSES[index % len(_STATUSES)],
                "exportType": None,
                "salesEuAccountId": None,
                "salesNonTaxableAccountId": None,
                "salesAccountId": "3000",
                "salesExportAccountId": None,
            }
        )
    return customers


def inventory_items() -> dict[str, dict]:
    return {
        item_id: {"description": description, "baseUnit": unit, "taxCategoryId": tax, "itemType": kind}
        for item_id, description, unit, tax, kind in INVENTORY
    }
