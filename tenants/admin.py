from __future__ import annotations

from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.contrib import admin, messages

from core.admin_safety import SafeAdminMixin
from core.validators import refuse_control_characters

from .customer_admin import CustomerAdmin, CustomerSyncAdmin  # noqa: F401 - registers them
from .models import ServiceApplication, Tenant
from .ops_admin import ApiCallAdmin, IncidentAdmin  # noqa: F401 - registers them

CREDENTIAL_FIELDS = ("client_id", "token_url", "api_url")


class ServiceApplicationForm(forms.ModelForm):
    """The client secret is write-only: never rendered back; leaving it blank keeps the stored one."""

    client_secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Generated in the Visma Developer Portal (Credentials tab). Leave blank to keep the current secret.",
    )

    token_url = forms.URLField(label="Token URL", assume_scheme="https", max_length=200)
    api_url = forms.URLField(label="API URL", assume_scheme="https", max_length=200)

    class Meta:
        model = ServiceApplication
        fields = ["name", "client_id", "description", "token_url", "api_url", "token_lifetime", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        refuse_control_characters(self)
        if not self.instance.pk:
            self.fields["client_secret"].help_text = "Generated in the Visma Developer Portal (Credentials tab)."

    def clean_client_secret(self) -> str:
        secret = self.cleaned_data["client_secret"]
        if not secret and not (self.instance and self.instance.has_secret):
            raise forms.ValidationError("A client secret is required for a new application.")
        return secret

    def clean(self):
        cleaned = super().clean()
        moved = [self.fields[name].label for name in CREDENTIAL_FIELDS if name in self.changed_data]
        if self.instance.pk and self.instance.has_secret and moved and not cleaned.get("client_secret"):
            self.add_error(
                "client_secret",
                f"You changed the {' and '.join(str(label) for label in moved)}: enter the client secret again. A "
                "saved secret is only ever sent to the addresses it was entered for.",
            )
        return cleaned

    def save(self, commit: bool = True):
        application = super().save(commit=False)
        if self.cleaned_data.get("client_secret"):
            application.set_secret(self.cleaned_data["client_secret"])
        if commit:
            application.save()
        return application


@admin.register(ServiceApplication)
class ServiceApplicationAdmin(SafeAdminMixin, AuditlogHistoryAdminMixin, admin.ModelAdmin):
    show_auditlog_history_link = True
    form = ServiceApplicationForm
    list_display = ("name", "client_id", "active", "secret_set_at", "token_lifetime", "updated_at")
    list_filter = ("active",)
    search_fields = ("name", "client_id")
    readonly_fields = ("secret_set_at",)


@admin.action(description="Test Visma connection", permissions=["check_connection"])
def test_connection(modeladmin, request, queryset):
    from .services import check_connection

    for tenant in queryset.select_related("application"):
        report = check_connection(tenant)
        level = messages.SUCCESS if report.ok else messages.ERROR
        modeladmin.message_user(request, f"{tenant.name}: {report.summary}", level)


@admin.register(Tenant)
class TenantAdmin(SafeAdminMixin, AuditlogHistoryAdminMixin, admin.ModelAdmin):
    show_auditlog_history_link = True
    actions = [test_connection]

    def get_changeform_initial_data(self, request) -> dict:
        # As in the portal's form: a new tenant only reads until someone ticks the write scope the customer approved.
        return {"can_write": False, **super().get_changeform_initial_data(request)}

    def has_check_connection_permission(self, request) -> bool:
        return request.user.has_perm("tenants.check_connection")

    list_display = (
        "name",
        "tenant_id",
        "application",
        "can_read",
        "can_write",
        "active",
        "last_check_ok",
        "last_token_at",
    )
    list_filter = ("active", "can_write", "application", "last_check_ok")
    search_fields = ("name", "tenant_id")
    list_select_related = ("application",)
    readonly_fields = (
        "last_check_at",
        "last_check_ok",
        "last_check_message",
        "last_token_at",
        "last_token_expires_at",
        "last_token_error",
        "last_token_error_at",
        "token_failures",
    )
