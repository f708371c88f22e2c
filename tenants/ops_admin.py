from __future__ import annotations

from django.contrib import admin

from core.admin_safety import SafeModelAdmin

from .api_log import ApiCall
from .notifications import Incident


class ReadOnlyAdmin(SafeModelAdmin):
    """Records of what happened: nobody adds or edits them by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiCall)
class ApiCallAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "tenant", "kind", "method", "path", "status", "duration_ms", "request_id", "context")
    list_filter = ("outcome", "kind", "tenant")
    search_fields = ("request_id", "context", "path")
    list_select_related = ("tenant",)
    date_hierarchy = "started_at"


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ("subject", "kind", "tenant", "opened_at", "failures", "closed_at", "mailed_to")
    list_filter = ("kind", ("closed_at", admin.EmptyFieldListFilter), "tenant")
    search_fields = ("subject", "key")
    list_select_related = ("tenant",)
