from __future__ import annotations

from django import template

from core.audit import audit_rows

register = template.Library()

SHOW_ALL_LIMIT = 500


@register.inclusion_tag("includes/audit_trail.html", takes_context=True)
def audit_trail(context, obj, limit: int = 25) -> dict:
    """`{% load audit %}{% audit_trail object %}`: who changed what on this object, newest first; the latest `limit`
    entries unless the page was opened with ?audit=all."""
    request = context.get("request")
    if request is not None and request.GET.get("audit") == "all":
        limit = SHOW_ALL_LIMIT
    rows = audit_rows(obj, limit + 1)
    return {"audit_rows": rows[:limit], "audit_more": len(rows) > limit and limit < SHOW_ALL_LIMIT}
