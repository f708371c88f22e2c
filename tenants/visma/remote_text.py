"""Text that comes back from a remote (error descriptions, problem details) is shown to staff and stored: strip
anything that looks like our secret or a token, and keep it short."""

from __future__ import annotations

import re

from core.logging import redact

MAX_LENGTH = 500
# Control characters and lone surrogates: noise to staff, and what PostgreSQL cannot store at all (a NUL in text or
# JSON, a surrogate in UTF-8), so one such character from Visma would stop every write of the row it came in.
UNSTORABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_LEAVES = 200
REMOVED = "[removed]"
_TOKEN_LIKE = [  # besides what the log filter (`core.logging.redact`) already scrubs
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
    text = redact(UNSTORABLE.sub(" ", text))
    for pattern in _TOKEN_LIKE:
        text = pattern.sub(REMOVED, text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clean_tree(value, *, secrets: tuple[str, ...] = (), leaves: int = MAX_LEAVES):
    """`clean` applied to every string in a problem body's `errors`/`details`, which keep their shape; at most
    `leaves` values in all, the rest summed up as "… N more"."""
    budget = [leaves]
    return _clean_node(value, secrets, budget, depth=0)


def _clean_node(value, secrets, budget: list[int], depth: int):
    if isinstance(value, dict):
        cleaned, left_out = {}, 0
        for key, item in value.items():
            if budget[0] <= 0 or depth > 5:
                left_out += 1
                continue
            cleaned[clean(key, secrets=secrets, limit=100)] = _clean_node(item, secrets, budget, depth + 1)
        if left_out:
            cleaned["…"] = f"{left_out} more not shown"
        return cleaned
    if isinstance(value, list):
        cleaned, left_out = [], 0
        for item in value:
            if budget[0] <= 0 or depth > 5:
                left_out += 1
                continue
            cleaned.append(_clean_node(item, secrets, budget, depth + 1))
        if left_out:
            cleaned.append(f"… {left_out} more not shown")
        return cleaned
    budget[0] -= 1
    if isinstance(value, bool | int | float) or value is None:
        return value
    return clean(value, secrets=secrets)
