"""`{% load portal_format %}`: amounts, prices and times written one way everywhere, in the user's language."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.utils import formats

from core import money as money_rules
from core.money import DEFAULT_CURRENCY, currency_of, format_money

register = template.Library()


@register.filter
def money(amount, currency: str = "") -> str:
    """`{{ order.total|money:currency }}` → "1 777,50 kr" / "NOK 1,777.50"; empty for no amount."""
    if amount is None or amount == "":
        return ""
    return format_money(amount, currency)


@register.filter
def unit_price(amount, currency: str = "") -> str:
    """Like `money`, keeping a price's third and fourth decimals when it has them: "0,0125 kr"."""
    if amount is None or amount == "":
        return ""
    return format_money(amount, currency, places=None)


@register.filter
def quantity(value) -> str:
    """A quantity without padding zeros, in the language's digits: 10.5000 → "10,5" / "10.5", 2.0000 → "2"."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    return formats.number_format(number.normalize() + 0, use_l10n=True, force_grouping=True)


@register.filter(expects_localtime=True)
def with_seconds(value) -> str:
    """A moment to the second, in the language's date style: "30.11.2026 01:00:05"."""
    if not value:
        return ""
    return formats.date_format(value, formats.get_format("SHORT_DATETIME_FORMAT") + ":s")


@register.filter
def currency(obj) -> str:
    """`{{ order|currency }}`, `{{ customer|currency }}`, `{{ tenant|currency }}`: the customer's currency from Visma,
    else the tenant's default. Reads only the order's (or customer's) own customer and tenant: select them along."""
    if obj is None:
        return DEFAULT_CURRENCY
    if hasattr(obj, "default_currency"):  # a tenant
        return currency_of(None, obj)
    if hasattr(obj, "customer"):  # an order, saved or planned by the CSV import (which works its currency out)
        return getattr(obj, "currency", "") or currency_of(obj.customer, getattr(obj, "tenant", None))
    return currency_of(obj, getattr(obj, "tenant", None))  # a customer


@register.simple_tag
def intl_locale() -> str:
    """The active language as the browser's Intl API names it, for amounts formatted in JavaScript: "nb-NO"."""
    return money_rules.intl_locale()
