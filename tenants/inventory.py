"""Item suggestions for the order form: the tenant's inventory from Visma, cached for a few minutes."""

from __future__ import annotations

from django.core.cache import cache

from .models import Tenant
from .visma import VismaClient, VismaError

CACHE_SECONDS = 600
MAX_ITEMS = 1000


def item_suggestions(tenant: Tenant) -> tuple[list[dict], str]:
    """(items, problem): up to 1,000 `{"id", "description"}` from `GET /api/v3/Inventory`, or why there are none."""
    key = f"inventory:{tenant.pk}:{tenant.tenant_id}"
    items = cache.get(key)
    if items is not None:
        return items, ""
    if not tenant.can_read:
        return [], "Item suggestions need the read scope, which this tenant has not approved."
    try:
        raw = VismaClient(tenant).get_inventory(page_index=0, page_size=MAX_ITEMS)
    except VismaError as exc:
        return [], f"Item suggestions are unavailable: {exc}"
    items = [
        {"id": str(item.get("inventoryId") or ""), "description": str(item.get("description") or "")}
        for item in raw
        if item.get("inventoryId")
    ]
    cache.set(key, items, CACHE_SECONDS)
    return items, ""
