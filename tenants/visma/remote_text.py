"""Text that comes back from a remote (error descriptions, problem details) is shown to staff and stored: strip
anything that looks like our secret or a token, and keep it short."""

from __future__ import annotations

import re

MAX_LENGTH = 500
REMOVED = "[removed]"
_TOKEN_LIKE = [
    re.compile(r"(?i)\bbearer\s+[\w\-.~+/=]+"),
    re.compile(r"\beyJ[\w\-]+\.[\w\-]+\.[\w\-]*"),  # a JWT
    re.compile(r"(?i)\b(client_secret|access_token|refresh_token|password)\b[\"']?\s*[:=]\s*[\"']?[^\s\"'&,}]+"),
    re.compile(r"[A-Za-z0-9+/_]{40,}={0,2}"),  # a long opaque blob: a token or a secret
]


def clean(value, *, secrets: tuple[str, ...] = (), limit: int = MAX_LENGTH) -> str:
    """One line of remote text, safe to store and show."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REMOVED)
    for pattern in _TOKEN_LIKE:
        text = pattern.sub(REMOVED, text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clean_tree(value, *, secrets: tuple[str, ...] = (), depth: int = 0):
    """`clean` applied to every string in a problem body's `errors`/`details`, which keep their shape."""
    if depth > 5:
        return None
    if isinstance(value, dict):
        return {
            clean(k, secrets=secrets, limit=100): clean_tree(v, secrets=secrets, depth=depth + 1)
            for k, v in list(value.items())[:100]
        }
    if isinstance(value, list):
        return [clean_tree(v, secrets=secrets, depth=depth + 1) for v in value[:100]]
    if isinstance(value, str):
        return clean(value, secrets=secrets)
    return value if isinstance(value, int | float | bool) or value is None else clean(value, secrets=secrets)
