from __future__ import annotations

import re

from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.contrib import admin, messages
from django.db import models

from core.admin_safety import SafeAdminMixin

from . import editing
from .models import EDITABLE_STATES, OrderChange, SalesOrder, SalesOrderLine, SubmissionAttempt
from .numbers import AmountField

VISMA_LABEL = re.compile(r"([A-Za-z]{2})\s+(\d+)")


class SalesOrderLineInline(SafeAdminMixin, admin.TabularInline):
    model = SalesOrderLine
    extra = 0
    formfield_overrides = {models.DecimalField: {"form_class": AmountField}}

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or obj.is_editable)

    def has_add_permission(self, request, obj=None) -> bool:
        return super().has_add_permission(request, obj) and (obj is None or obj.is_editable)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or obj.is_editable)


class SubmissionAttemptInline(SafeAdminMixin, admin.TabularInline):
    model = SubmissionAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "started_at", "duration_ms", "outcome", "status", "request_id", "message")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def _bulk(modeladmin, request, queryset, action: str) -> None:
    result = editing.bulk(action, queryset.select_related("tenant__application"), request.user)
    level = messages.SUCCESS if result.done else messages.WARNING
    modeladmin.message_user(request, result.message(editing.BULK_VERBS[action]), level)


@admin.action(description="Submit selected drafts and failed orders to Visma", permissions=["submit"])
def submit_selected(modeladmin, request, queryset):
    _bulk(modeladmin, request, queryset, "submit")


@admin.action(description="Retry selected failed orders", permissions=["submit"])
def retry_failed(modeladmin, request, queryset):
    _bulk(modeladmin, request, queryset, "retry")


@admin.action(description="Cancel selected queued orders", permissions=["change"])
def cancel_queued(modeladmin, request, queryset):
    _bulk(modeladmin, request, queryset, "cancel")


class SalesOrderAdminForm(forms.ModelForm):
    class Meta:
        model = SalesOrder
        fields = ["tenant", "customer", "order_type", "date", "description", "customer_order", "status", "note"]

    def clean(self):
        cleaned = super().clean()
        tenant, customer = cleaned.get("tenant"), cleaned.get("customer")
        if tenant and customer and customer.tenant_id != tenant.pk:
            self.add_error("customer", f"Customer {customer.number} belongs to another tenant than {tenant}.")
        return cleaned


@admin.register(SalesOrder)
class SalesOrderAdmin(SafeAdminMixin, AuditlogHistoryAdminMixin, admin.ModelAdmin):
    show_auditlog_history_link = True
    list_display = ("reference", "tenant", "customer", "date", "state", "visma_order", "attempts", "created_at")
    list_filter = ("state", "tenant", "status")
    search_fields = ("reference", "visma_number", "customer_order", "customer__number", "customer__name")
    list_select_related = ("tenant", "customer")
    raw_id_fields = ("customer",)
    date_hierarchy = "created_at"
    inlines = [SalesOrderLineInline, SubmissionAttemptInline]
    actions = [submit_selected, retry_failed, cancel_queued]
    readonly_fields = (
        "reference",
        "state",
        "visma_order",
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

    form = SalesOrderAdminForm
    header_fields = ("tenant", "customer", "order_type", "date", "description", "customer_order", "status", "note")

    @admin.display(description="Visma order", ordering="visma_number", empty_value="—")
    def visma_order(self, obj: SalesOrder) -> str:
        """As the portal shows it: "SO 000123"."""
        return obj.visma_label

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # A Visma number is copied as shown ("SO 000123"); the type prefix is not part of the stored number.
        shown = VISMA_LABEL.fullmatch(search_term.strip())
        if shown:
            results |= queryset.filter(visma_type__iexact=shown[1], visma_number=shown[2])
        return results, may_have_duplicates

    def has_add_permission(self, request) -> bool:
        # Orders are built in the portal's form (customer picker, lines, checks); state, attempts and errors are
        # only ever set by the submission, never typed.
        return False

    def has_submit_permission(self, request) -> bool:
        return request.user.has_perm("orders.submit_salesorder")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return (*self.header_fields, *self.readonly_fields)  # Visma has it, or a worker is sending it
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        deletable = obj is None or obj.state in (SalesOrder.State.DRAFT, SalesOrder.State.CANCELLED)
        return super().has_delete_permission(request, obj) and deletable

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one by one, and only drafts and cancelled orders
        return actions

    def save_model(self, request, obj, form, change) -> None:
        changed = {name: getattr(obj, name) for name in form.changed_data if name in self.header_fields}
        if changed and not SalesOrder.objects.filter(pk=obj.pk, state__in=EDITABLE_STATES).update(**changed):
            messages.error(request, f"Order {obj.reference} was not changed: it left draft/failed meanwhile.")


@admin.register(OrderChange)
class OrderChangeAdmin(SafeAdminMixin, AuditlogHistoryAdminMixin, admin.ModelAdmin):
    """Read only: a change is asked for on the order page and sent by a worker; typing one here would bypass both."""

    show_auditlog_history_link = True
    list_display = ("order", "kind", "state", "attempts", "created_by", "created_at", "finished_at")
    list_filter = ("state", "kind")
    search_fields = ("order__reference", "order__visma_number")
    list_select_related = ("order", "created_by")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
