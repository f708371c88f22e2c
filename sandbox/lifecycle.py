"""Visma's sales order statuses, the changes its API allows, and the sandbox's optional automatic lifecycle.

With `lifecycle` set (seconds), an Open order becomes Shipping that many seconds after it became Open, and Shipping
becomes Completed as many seconds later. Hold (and BackOrder) orders wait until someone moves them to Open."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state import SandboxState

STATUSES = ("Open", "Hold", "BackOrder", "Shipping", "Completed", "Cancelled")
# Words Visma's screens also give an order, which the API never sets: the control endpoint may put an order in them,
# and no change is taken in them (only CHANGEABLE ones are).
OTHER_STATUSES = ("CreditHold", "PendingApproval", "Invoiced", "Closed")
CHANGEABLE = ("Open", "Hold", "BackOrder")  # header and lines may still change
API_STATUS_CHANGES = {
    ("Open", "Hold"),
    ("Hold", "Open"),
    ("Open", "Cancelled"),
    ("Hold", "Cancelled"),
    ("BackOrder", "Cancelled"),
}
_NEXT = {"Open": "Shipping", "Shipping": "Completed"}


def status_dto(status: str) -> dict:
    return {"description": status, "cancelled": status == "Cancelled", "hold": status == "Hold"}


def schedule(state: SandboxState, order: dict) -> None:
    """Move an Open or Shipping order on after `state.lifecycle` seconds, unless its status changes before."""
    seconds = state.lifecycle
    if seconds is None or order["status"] not in _NEXT:
        return
    expected = (order["status"], order["statusChanges"])
    state.later(seconds, lambda: _advance(state, order, expected))


def _advance(state: SandboxState, order: dict, expected: tuple[str, int]) -> None:
    with state.lock:
        if state.holds(order) and (order["status"], order["statusChanges"]) == expected:
            state.change_order(order, lambda changed: changed.update(status=_NEXT[changed["status"]]))
