from __future__ import annotations

from django import template

from core.audit import audit_rows

register = template.Library()


@register.inclusion_tag("includes/audit_trail.html")
def audit_trail(obj, limit: int = 25) -> dict:
    """`{% load audit %}{% audit_trail object %}`: who changed what on this object, newest first."""
    return {"audit_rows": audit_rows(obj, limit), "audit_limit": limit}
