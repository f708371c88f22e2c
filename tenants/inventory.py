"""Item suggestions for the order form: the tenant's inventory from Visma, cached for a few minutes."""

from __future__ import annotations

from django.core.cache import cache

from . import paging
from .models import Tenant
from .visma import VismaClient, VismaError

CACHE_SECONDS = 600
# Why Visma gave no items is kept this long (or a 429's Retry-After): opening order forms, or asking this URL again
# and again, makes no further calls while Visma refuses or fails (staff's calls are not paced by the rate budget).
PROBLEM_SECONDS = 60
MAX_ITEMS = 1000


def item_suggestions(tenant: Tenant) -> tuple[list[dict], str]:
    """(items, problem): up to 1,000 `{"id", "description"}` from `GET /api/v3/Inventory`, or why there are none."""
    key = f"inventory:{tenant.pk}:{tenant.tenant_id}"
    items = cache.get(key)
    if items is not None:
        return items, ""
    if not tenant.can_read:
        return [], "Item suggestions need the read scope, which this tenant has not approved."
    if problem := cache.get(f"{key}:problem"):
        return [], problem
    try:
        raw = _read_inventory(VismaClient(tenant, for_staff=True), tenant.pk)
    except VismaError as exc:
        problem = f"Item suggestions are unavailable: {paging.message(exc)}"
        wait = getattr(exc, "retry_after", None) or PROBLEM_SECONDS
        cache.set(f"{key}:problem", problem, min(max(wait, PROBLEM_SECONDS), CACHE_SECONDS))
        return [], problem
    items = [
        {"id": str(item.get("inventoryId") or ""), "description": str(item.get("description") or "")}
        for item in raw
        if item.get("inventoryId")
    ]
    cache.set(key, items, CACHE_SECONDS)
    return items, ""


def _read_inventory(client: VismaClient, tenant_pk: int) -> list[dict]:
    """Page after page until MAX_ITEMS or a page that is not full, asking for smaller pages when Visma refuses."""
    size = paging.first_size(tenant_pk, paging.INVENTORY, MAX_ITEMS)
    shrunk = False
    raw: list[dict] = []
    page_index = 0
    while len(raw) < MAX_ITEMS:
        try:
            page = client.get_inventory(page_index=page_index, page_size=size)
        except VismaError as exc:
            if not paging.is_refusal(exc):
                raise
            if page_index > 0:  # Visma took this size for the first page: the index is past the end of the list
                break
            size, shrunk = paging.smaller(size), True
            if size is None:
                raise
            continue
        if shrunk:
            paging.remember(tenant_pk, paging.INVENTORY, size)
            shrunk = False
        raw.extend(page)
        if len(page) < size:
            break
        page_index += 1
    return raw[:MAX_ITEMS]
