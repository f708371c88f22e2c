from __future__ import annotations

from django import forms
from django.utils import timezone

from core.validators import refuse_control_characters

from .admin import ServiceApplicationForm
from .models import ServiceApplication, Tenant


class ApplicationForm(ServiceApplicationForm):
    """Same rules as the admin form: the secret is write-only and blank keeps the stored one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.secret_set_at:
            when = timezone.localtime(self.instance.secret_set_at).strftime("%Y-%m-%d %H:%M")
            self.fields[
                "client_secret"
            ].help_text = f"Set on {when}. Leave blank to keep it; type a new one to replace it."


class TenantForm(forms.ModelForm):
    default_currency = forms.CharField(
        required=False,
        min_length=3,
        max_length=3,
        initial="NOK",
        help_text="Shown with amounts of customers whose currency Visma does not give: a three-letter code, e.g. NOK. "
        "Empty keeps the current one.",
        widget=forms.TextInput(attrs={"class": "text-uppercase", "size": 3, "autocomplete": "off"}),
    )

    class Meta:
        model = Tenant
        fields = [
            "application",
            "name",
            "tenant_id",
            "can_read",
            "can_write",
            "active",
            "default_currency",
            "order_types",
        ]
        help_texts = {
            "tenant_id": "The customer's company tenant ID (UUID), shown once they approve the app in the App Store.",
            "can_write": "The customer approved the write scope: orders can be submitted.",
            "order_types": "The order types set up in Visma that staff may choose, comma separated, e.g. SO, SE; "
            "the first is the default. Empty keeps the current ones.",
        }
        widgets = {"order_types": forms.TextInput(attrs={"class": "text-uppercase", "autocomplete": "off"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order_types"].required = False
        refuse_control_characters(self)
        if not self.instance.pk:
            # A customer approves the write scope separately; until someone ticks it, a new tenant only reads.
            self.initial["can_write"] = kwargs.get("initial", {}).get("can_write", False)
            applications = list(ServiceApplication.objects.filter(active=True).values_list("pk", flat=True)[:2])
            if len(applications) == 1 and self.initial.get("application") is None:
                self.initial["application"] = applications[0]

    def clean_default_currency(self) -> str:
        return (self.cleaned_data.get("default_currency") or "").strip().upper() or self.instance.default_currency

    def clean_order_types(self) -> str:
        """Written the way the model's rule reads them: capitals, ", " between; each type once."""
        types = [part.strip().upper() for part in (self.cleaned_data.get("order_types") or "").split(",")]
        types = [part for part in types if part]
        if not types:
            return self.instance.order_types
        if twice := sorted({part for part in types if types.count(part) > 1}):
            raise forms.ValidationError(f"Each order type once: {', '.join(twice)} is listed twice.")
        return ", ".join(types)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("can_write") and not cleaned.get("can_read"):
            self.add_error("can_read", "Submitting orders needs the read scope too (to find orders after a timeout).")
        return cleaned
