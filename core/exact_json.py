"""JSON in which a Decimal is written as the exact number it holds (the json module refuses Decimals, and a float
would round them). Used for the bodies sent to Visma and the payloads stored with orders."""

from __future__ import annotations

import json
from decimal import Decimal


def dumps(value, *, indent: int | None = None, _depth: int = 0) -> str:
    """`json.dumps(value, indent=indent, ensure_ascii=False)`, except that a Decimal is written as its number."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as a JSON number")
        return plain(value)
    if isinstance(value, dict):
        items = [
            f"{json.dumps(str(key), ensure_ascii=False)}: {dumps(item, indent=indent, _depth=_depth + 1)}"
            for key, item in value.items()
        ]
        return _container("{", items, "}", indent, _depth)
    if isinstance(value, list | tuple):
        items = [dumps(item, indent=indent, _depth=_depth + 1) for item in value]
        return _container("[", items, "]", indent, _depth)
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def plain(value: Decimal) -> str:
    """Without exponent or padding zeros: 10.5000 -> 10.5, 2.0000 -> 2, 1E+3 -> 1000."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _container(opening: str, items: list[str], closing: str, indent: int | None, depth: int) -> str:
    if not items:
        return opening + closing
    if indent is None:
        return opening + ", ".join(items) + closing
    inner, outer = "\n" + " " * indent * (depth + 1), "\n" + " " * indent * depth
    return opening + inner + ("," + inner).join(items) + outer + closing
