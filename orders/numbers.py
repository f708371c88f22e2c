"""Quantities and prices as staff type them, read one way in the order form, the admin and the CSV import."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils import formats
from django.utils.text import capfirst

from core.exact_json import plain

_NUMBER = re.compile(r"[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)")
_EXPONENT = re.compile(r"[+-]?[0-9.,]+[eE][+-]?[0-9]+")


def decimal_or_none(value) -> Decimal | None:
    """A number as Visma or a stored row gives it (number or text) as an exact, finite Decimal; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def parse_decimal(raw: str, *, max_digits: int, places: int) -> Decimal:
    """ASCII digits with an optional sign and `.` or `,` as the decimal mark, no thousands separators, that fit a
    DecimalField of `max_digits` and `places`. Anything else raises ValueError saying why."""
    text = raw.strip()
    if _EXPONENT.fullmatch(text):
        raise ValueError("write the number out, e.g. 1000 rather than 1e3")
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"“{raw}” is not a number (digits with . or , as the decimal mark, no thousands separators)")
    value = Decimal(text.replace(",", "."))
    if value.is_zero():
        value = value.copy_abs()  # "-0" is 0
    decimals = max(0, -value.normalize().as_tuple().exponent) if value else 0
    if decimals > places:
        raise ValueError(f"at most {places} decimals")
    if abs(value) >= Decimal(10) ** (max_digits - places):
        raise ValueError(f"too large (at most {max_digits - places} digits before the decimal mark)")
    return value


class AmountField(forms.DecimalField):
    """A form field for a quantity or price, read with `parse_decimal`, shown without padding zeros."""

    def __init__(self, *, max_digits: int, decimal_places: int, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = plain(value) if isinstance(value, Decimal) else str(value)
        try:
            return parse_decimal(text, max_digits=self.max_digits, places=self.decimal_places)
        except ValueError as exc:
            raise forms.ValidationError(capfirst(f"{exc}."), code="invalid") from None

    def prepare_value(self, value):
        if isinstance(value, Decimal):  # shown with the user's decimal mark ("2,5" in Norwegian); both are read
            return plain(value).replace(".", formats.get_format("DECIMAL_SEPARATOR"))
        return super().prepare_value(value)
