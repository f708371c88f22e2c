"""`{% load tenant_status %}`: a tenant's connection state (tenants.connection_state) in templates."""

from __future__ import annotations

from django import template

from ..connection_state import ConnectionState, connection_state, failed_step

register = template.Library()


@register.filter
def connection(tenant) -> ConnectionState:
    """`{% with state=tenant|connection %}{{ state.badge }}{% endwith %}`"""
    return connection_state(tenant)


@register.filter
def check_step(message: str) -> str:
    """The step a failed Test connection stopped at."""
    return failed_step(message or "")
