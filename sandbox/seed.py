"""Deterministic seed data: one service application, three tenants, customers, their locations and inventory items."""

from __future__ import annotations

import random
from decimal import Decimal

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
TAX_RATES = {"HIGH": Decimal("0.25"), "MEDIUM": Decimal("0.15"), "LOW": Decimal("0.12"), "EXEMPT": Decimal("0")}
BASE_CURRENCY = "NOK"
RATES_TO_BASE = {"NOK": Decimal("1"), "SEK": Decimal("0.9612"), "EUR": Decimal("11.6345"), "DKK": Decimal("1.5593")}
COUNTRIES = {"NO": "Norway", "SE": "Sweden", "FI": "Finland", "DK": "Denmark"}

_FIRST = ("Nordlys", "Fjell", "Bølge", "Skog", "Havbris", "Solstråle", "Isbre", "Åsen", "Lyng", "Myr", "Øy", "Vik")
_SECOND = ("Handel", "Bygg", "Marin", "Bakeri", "Verksted", "Elektro", "Transport", "Design", "Fisk", "Tre")
_FORMS = ("AS", "AB", "Oy", "ApS", "ASA")
_CITIES = (("0150", "NO"), ("5003", "NO"), ("111 22", "SE"), ("00100", "FI"), ("1050", "DK"), ("7010", "NO"))
_STATUSES = ("Active",) * 8 + ("OnHold", "Inactive")
_STREETS = ("Storgata", "Kungsgatan", "Mannerheimintie", "Strøget")
_TOWNS = {
    "0150": "Oslo",
    "5003": "Bergen",
    "111 22": "Stockholm",
    "00100": "Helsinki",
    "1050": "København K",
    "7010": "Trondheim",
}

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
                    "name": name,
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


def locations_for(customer: dict) -> list[dict]:
    """A customer's locations as `CustomerLocationItemDto`s plus "active". Every customer has "MAIN", named like the
    customer at its address; every third one (10000, 10003, …) also "WH2" and "SHOP"; 10001 has an inactive "OLD"."""
    index = int(customer["id"]) - 10000 if str(customer.get("id", "")).isdigit() else -1
    main = customer.get("defaultLocation") or {}
    country = customer.get("country") or main.get("countryId")
    locations = [
        _location(
            "MAIN",
            customer.get("name"),
            main.get("internalId") or 9000 + max(index, 0),
            country,
            (customer.get("addressLine1"), customer.get("postalCode")),
            None,
        )
    ]
    if index >= 0 and index % 3 == 0:
        internal = 20000 + index * 10
        warehouse = (f"Lagerveien {index % 40 + 1}", customer.get("postalCode"))
        shop = (f"Torget {index % 17 + 2}", customer.get("postalCode"))
        contact = (f"Butikk {customer.get('name')}", f"shop{index}@example.com", f"+47 400 {index:05d}")
        locations.append(_location("WH2", "Warehouse", internal + 1, country, warehouse, None))
        locations.append(_location("SHOP", "Shop", internal + 2, country, shop, contact))
    if index == 1:
        old = _location("OLD", "Closed depot", 20019, country, ("Gamleveien 1", customer.get("postalCode")), None)
        locations.append({**old, "active": False})
    return locations


def _location(location_id, name, internal_id, country, street_and_postal_code, contact) -> dict:
    street, postal_code = street_and_postal_code
    contact_name, email, phone = contact or (None, None, None)
    return {
        "id": location_id,
        "name": name,
        "internalId": internal_id,
        "countryId": country,
        "gln": None,
        "taxRegistrationId": None,
        "corporateId": None,
        "warehouseId": "MAIN",
        "address": {
            "id": internal_id,
            "overridesDefault": location_id != "MAIN",
            "line1": street,
            "line2": None,
            "line3": None,
            "postalCode": postal_code,
            "city": _TOWNS.get(postal_code or ""),
            "country": {"id": country, "name": COUNTRIES.get(country or "")},
        },
        "contact": {
            "id": internal_id,
            "overridesDefault": contact is not None,
            "name": contact_name,
            "attention": None,
            "email": email,
            "phone1": phone,
            "phone2": None,
            "fax": None,
        },
        "priceClassId": None,
        "fobPointId": None,
        "shipTermsId": None,
        "shipZoneId": None,
        "shipViaId": "POST" if location_id == "MAIN" else "TRUCK",
        "residentialDelivery": False,
        "saturdayDelivery": False,
        "insurance": False,
        "priority": 0,
        "shippingRule": "CancelRemainder",
        "preferredWarehouseId": "MAIN",
        "leadTime": 0,
        "taxZoneId": None,
        "exportType": None,
        "salesEuAccountId": None,
        "salesNonTaxableAccountId": None,
        "salesAccountId": "3000",
        "salesExportAccountId": None,
        "active": True,
    }
