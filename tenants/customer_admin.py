"""Admin for customers and their sync runs: searchable, filterable, and read-only where the data comes from Visma."""

from __future__ import annotations

from django.contrib import admin

from core.admin_safety import SafeModelAdmin

from .customer_models import Customer, CustomerSync
from .sync import SYNCED_FIELDS


@admin.register(Customer)
class CustomerAdmin(SafeModelAdmin):
    list_display = ("number", "name", "status", "currency", "tenant", "last_seen_at", "removed_at")
    list_filter = ("tenant", "status", ("removed_at", admin.EmptyFieldListFilter))
    search_fields = ("number", "name", "postal_code")
    list_select_related = ("tenant",)
    readonly_fields = ("tenant", "number", *SYNCED_FIELDS, "first_seen_at", "last_seen_at", "removed_at")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False  # customers come from Visma


@admin.register(CustomerSync)
class CustomerSyncAdmin(SafeModelAdmin):
    list_display = ("tenant", "started_at", "trigger", "outcome", "pages", "fetched", "created", "updated", "removed")
    list_filter = ("outcome", "trigger", "tenant")
    list_select_related = ("tenant", "started_by")
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in CustomerSync._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
