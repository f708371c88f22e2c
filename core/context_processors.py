from __future__ import annotations

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict:
    """Which top-level sections the signed-in user may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_can_admin": user.is_staff,
        "nav_can_view_tenants": user.has_perm("tenants.view_tenant"),
        "nav_can_view_orders": user.has_perm("orders.view_salesorder"),
        "nav_can_view_customers": user.has_perm("tenants.view_customer"),
    }
