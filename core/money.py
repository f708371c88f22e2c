"""Amounts with their currency, written the way the active formats write them (Django's number formats).

The order form's live totals use the browser's Intl.NumberFormat with the same locale and currency
(static/portal/orders.js), and these rules give the same text: Norwegian "1 777,50 kr" (other currencies by their
code: "1 777,50 EUR"), English "NOK 1,777.50".
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import formats

from . import format_locales
from .format_locales import NORWEGIAN

DEFAULT_CURRENCY = "NOK"
AMOUNT_PLACES = 2
PRICE_PLACES = 4  # Visma's unit prices have up to four decimals
# Currencies the formats write with a symbol after the number; any other is written with its ISO code.
SYMBOLS_AFTER = {NORWEGIAN: {"NOK": "kr"}}
MINUS = {NORWEGIAN: "\u2212"}  # Intl writes a true minus sign for Norwegian


def currency_of(customer=None, tenant=None) -> str:
    """The customer's currency from Visma; the tenant's default when Visma gave none."""
    code = (getattr(customer, "currency", "") or "").strip().upper()
    if not code and tenant is not None:
        code = (getattr(tenant, "default_currency", "") or "").strip().upper()
    return code or DEFAULT_CURRENCY


def intl_locale(language: str | None = None) -> str:
    """The BCP 47 tag Intl.NumberFormat gets for the active formats (or a language's): "nb-NO", "en-GB"."""
    return format_locales.active(language).intl


def format_money(amount, currency: str, *, places: int | None = AMOUNT_PLACES) -> str:
    """`amount` rounded half up to two decimals (places=None: as many as it has, two to four) with its currency."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        return str(amount)
    if not value.is_finite():
        return str(amount)
    if places is None:
        exponent = value.normalize().as_tuple().exponent
        places = min(max(AMOUNT_PLACES, -exponent if isinstance(exponent, int) else 0), PRICE_PLACES)
    value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    number = formats.number_format(abs(value), places, use_l10n=True, force_grouping=True)
    locale = format_locales.active()
    code = (currency or DEFAULT_CURRENCY).strip().upper()
    sign = MINUS.get(locale, "-") if value < 0 else ""
    if locale in SYMBOLS_AFTER:
        return f"{sign}{number}\xa0{SYMBOLS_AFTER[locale].get(code, code)}"
    return f"{sign}{code}\xa0{number}"
