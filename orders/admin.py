from __future__ import annotations

from django.contrib import admin, messages

from . import services
from .models import SalesOrder, SalesOrderLine, SubmissionAttempt


class SalesOrderLineInline(admin.TabularInline):
    model = SalesOrderLine
    extra = 0


class SubmissionAttemptInline(admin.TabularInline):
    model = SubmissionAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "started_at", "duration_ms", "outcome", "status", "request_id", "message")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.action(description="Queue for submission to Visma (drafts and failed orders)", permissions=["submit"])
def queue_for_submission(modeladmin, request, queryset):
    queued = sum(services.queue(order, request.user) for order in queryset)
    modeladmin.message_user(request, f"{queued} order{'s' if queued != 1 else ''} queued.", messages.SUCCESS)


@admin.register(SalesOrder)
class SalesOrderAdmin(admin.ModelAdmin):
    list_display = ("reference", "tenant", "customer", "date", "state", "visma_number", "attempts", "created_at")
    list_filter = ("state", "tenant", "status")
    search_fields = ("reference", "visma_number", "customer_order", "customer__number", "customer__name")
    list_select_related = ("tenant", "customer")
    raw_id_fields = ("customer",)
    date_hierarchy = "created_at"
    inlines = [SalesOrderLineInline, SubmissionAttemptInline]
    actions = [queue_for_submission]
    readonly_fields = (
        "reference",
        "state",
        "visma_type",
        "visma_number",
        "attempts",
        "next_attempt_at",
        "attempt_started_at",
        "last_error",
        "last_error_status",
        "last_error_request_id",
        "last_error_details",
        "submitted_by",
        "submitted_at",
        "created_by",
    )

    def has_submit_permission(self, request) -> bool:
        return request.user.has_perm("orders.submit_salesorder")
