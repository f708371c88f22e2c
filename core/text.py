"""Free text from query strings, made safe to search with: no control characters (PostgreSQL refuses NUL), trimmed."""

from __future__ import annotations

import re
import unicodedata


def search_text(value: str | None, max_length: int = 100) -> str:
    cleaned = "".join(ch for ch in (value or "") if unicodedata.category(ch) != "Cc")
    return cleaned.strip()[:max_length]


def querystring_without(params, *names: str) -> str:
    """The request's query string without the named parameters, for links that set them anew (page, sort, …)."""
    copy = params.copy()
    for name in names:
        copy.pop(name, None)
    return copy.urlencode()


def visma_words(code: str) -> str:
    """A code Visma writes in CamelCase as words people read: "OnHold" → "On hold", "CreditHold" → "Credit hold"."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", code.strip())
    return spaced[:1] + spaced[1:].lower() if spaced != code.strip() else code.strip()
