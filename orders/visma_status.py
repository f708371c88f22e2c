"""Visma's status of an order after submission, as staff read it: "On hold", "Back order", "Completed"."""

from __future__ import annotations

from core.text import visma_words

# The words Visma's Sales Order API sends in `status` (the list) and `status.description` (one order).
KNOWN = (
    "Open",
    "Hold",
    "CreditHold",
    "PendingApproval",
    "BackOrder",
    "Shipping",
    "Invoiced",
    "Completed",
    "Cancelled",
)
CLOSED = ("Completed", "Cancelled")
_SAID_OTHERWISE = {"Hold": "On hold"}
# Each badge stands out from a white card and a grey page: a light badge (Bootstrap's text-bg-light) did not.
TONES = {
    "Open": "text-primary-emphasis bg-primary-subtle border border-primary",
    "Hold": "text-bg-warning",
    "CreditHold": "text-bg-warning",
    "PendingApproval": "text-bg-warning",
    "BackOrder": "text-bg-warning",
    "Shipping": "text-bg-info",
    "Invoiced": "text-bg-success",
    "Completed": "text-bg-success",
    "Cancelled": "text-bg-dark",
}


def words(status: str | None) -> str:
    """ "Hold" → "On hold", "BackOrder" → "Back order"; empty for no status."""
    status = (status or "").strip()
    return _SAID_OTHERWISE.get(status) or visma_words(status)


def tone(status: str | None) -> str:
    return TONES.get((status or "").strip(), "text-bg-secondary")


def is_closed(status: str | None) -> bool:
    return (status or "").strip() in CLOSED


def choices() -> list[tuple[str, str]]:
    """(value, words) for the orders list's filter."""
    return [(status, words(status)) for status in KNOWN]
