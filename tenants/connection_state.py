"""One answer to "does this tenant work?", used wherever a tenant's connection is shown, so that no page says "Not
tested" beside tokens and syncs that work, or "Connected" beside tokens that fail."""

from __future__ import annotations

from dataclasses import dataclass

from core.templatetags.status_text import ago

from .models import Tenant


@dataclass(frozen=True)
class ConnectionState:
    badge: str  # Connected | Failing | Not tested
    tone: str  # a Bootstrap colour: success | danger | secondary
    note: str  # when it was last shown to work, or that it never was
    reason: str = ""  # why it fails, in Visma's and the portal's words

    @property
    def failing(self) -> bool:
        return self.tone == "danger"


def connection_state(tenant: Tenant) -> ConnectionState:
    """Failing when tokens fail now or the last Test connection failed; connected when that test passed or, before
    anyone ran it, when Visma grants the tenant tokens in daily use."""
    checked = f"checked {ago(tenant.last_check_at)}" if tenant.last_check_at else ""
    if tenant.token_failures:
        note = f"{tenant.token_failures} token request{'s' if tenant.token_failures > 1 else ''} failed in a row"
        return ConnectionState("Failing", "danger", note, tenant.last_token_error)
    if tenant.last_check_ok is False:
        return ConnectionState("Failing", "danger", checked, step_detail(tenant.last_check_message))
    if tenant.last_check_ok:
        return ConnectionState("Connected", "success", checked)
    if tenant.last_token_at:
        return ConnectionState("Connected", "success", f"token granted {ago(tenant.last_token_at)}")
    return ConnectionState("Not tested", "secondary", "never checked")


def failed_step(message: str) -> str:
    """The step a failed check stopped at, e.g. "1. Token from Visma Connect", from its "<step>: <why>" message."""
    step, _, _ = message.partition(": ")
    return step


def step_detail(message: str) -> str:
    _, _, detail = message.partition(": ")
    return detail or message
