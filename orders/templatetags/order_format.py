from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from orders.numbers import plain

register = template.Library()


@register.filter
def plain_decimal(value) -> str:
    """A stored quantity or price without padding zeros: 10.5000 -> 10.5, 2.0000 -> 2, 1.2345 stays."""
    if value is None or value == "":
        return ""
    try:
        return plain(Decimal(value))
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
