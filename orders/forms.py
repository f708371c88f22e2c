"""The order form: a header and an inline formset of lines, validated before anything reaches Visma."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.core.validators import MaxLengthValidator
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils.functional import cached_property

from core.validators import refuse_control_characters
from tenants.locations import delivery_locations
from tenants.models import Customer, Tenant

from . import delivery
from .models import SalesOrder, SalesOrderLine
from .numbers import AmountField

CUSTOMER_CHOICES_SHOWN = 50
CUSTOMER_SEARCH = "customer_search"  # the picker's text box: kept when the form comes back with errors
CUSTOMER_SEARCH_MAX = 100
LINE_FIELDS = ("inventory_id", "description", "quantity", "unit_price", "tax_category")
MAX_LINES = 500  # settings.DATA_UPLOAD_MAX_NUMBER_FIELDS leaves room for this many lines in one POST


class BootstrapMixin:
    """Bootstrap classes on every widget (Django marks fields with errors `aria-invalid`, which the CSS colours).

    A browser's `maxlength` cuts pasted text silently; the limit goes to `data-maxlength` instead, where orders.js
    counts the characters near it and the form's validation explains what is too long."""

    def style_widgets(self, size: str = "") -> None:
        for field in self.fields.values():
            widget = field.widget
            if "maxlength" in widget.attrs:
                widget.attrs["data-maxlength"] = widget.attrs.pop("maxlength")
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = f"form-select{' form-select-' + size if size else ''}"
            else:
                css = f"form-control{' form-control-' + size if size else ''}"
            widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()


def prepare_item_line(form: BootstrapMixin) -> None:
    """A line form with an item combobox: the item input names its listbox, text is checked, widgets are small."""
    item = form["inventory_id"]
    item.field.widget.attrs["aria-controls"] = f"{item.auto_id}-listbox"
    refuse_control_characters(form)
    form.style_widgets(size="sm")


def active_customers(tenant: Tenant):
    return Customer.objects.filter(tenant=tenant, removed_at__isnull=True, status__iexact="active")


class SalesOrderForm(BootstrapMixin, forms.ModelForm):
    """The header and where to deliver. The customer must be one of the tenant's synced, active customers; the order
    type one of the tenant's; a delivery location one of the customer's in Visma."""

    order_type = forms.ChoiceField(
        label="Order type", help_text="The order types set up for this tenant in Visma; the first is the default."
    )

    class Meta:
        model = SalesOrder
        fields = [
            "customer",
            "order_type",
            "date",
            "customer_order",
            "description",
            "status",
            "note",
            "location_id",
            "request_on",
            *delivery.DELIVERY_FIELDS,
        ]
        widgets = {
            "customer": forms.HiddenInput,
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "request_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "note": forms.Textarea(attrs={"rows": 2}),
            "delivery_country": forms.TextInput(attrs={"class": "text-uppercase", "size": 2, "autocomplete": "off"}),
            "delivery_contact_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "delivery_contact_email": forms.TextInput(attrs={"inputmode": "email", "autocomplete": "off"}),
        }
        help_texts = {
            "customer_order": "The customer's own order number (their PO), sent as customer.order.",
            "status": "Hold keeps the order from being processed in Visma until someone releases it.",
            "request_on": "Empty: Visma uses the order date.",
            "delivery_country": "Two-letter code, e.g. NO; needed with any address.",
            "delivery_contact_email": "Several addresses may be separated by “;”.",
        }

    def __init__(self, *args, tenant: Tenant, **kwargs):
        chosen_type = (kwargs.get("initial") or {}).get("order_type")
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        field = self.fields["customer"]
        field.queryset = active_customers(tenant).order_by("number")
        field.error_messages["invalid_choice"] = (
            "Choose one of the tenant's active customers (sync customers if it is missing)."
        )
        field.error_messages["required"] = "Choose a customer: type a number or name and pick one from the list."
        self._set_order_types(chosen_type)
        # The country's length is part of its format (two letters), which clean_delivery_country explains.
        country = self.fields["delivery_country"]
        country.max_length = None
        country.validators = [v for v in country.validators if not isinstance(v, MaxLengthValidator)]
        refuse_control_characters(self)
        self.style_widgets()

    def _set_order_types(self, chosen: str | None) -> None:
        """The tenant's order types, the first by default. An order saved with a type the tenant no longer lists
        keeps it as a choice, so editing the order does not change its type unasked."""
        choices = list(self.tenant.order_type_choices)
        if self.instance.pk and self.instance.order_type and self.instance.order_type not in choices:
            choices.append(self.instance.order_type)
        field = self.fields["order_type"]
        field.choices = [(value, value) for value in choices]
        field.error_messages["invalid_choice"] = delivery.order_type_problem("", choices)
        if not self.instance.pk:
            self.initial["order_type"] = chosen if chosen in choices else choices[0]

    @property
    def customer_text(self) -> str:
        """What the customer picker shows: the chosen customer, else what was typed into it."""
        if self.chosen_customer is not None:
            return str(self.chosen_customer)
        return self.data.get(CUSTOMER_SEARCH, "")[:CUSTOMER_SEARCH_MAX] if self.is_bound else ""

    @property
    def customer_value(self) -> str:
        return str(self.chosen_customer.pk) if self.chosen_customer is not None else ""

    @cached_property
    def chosen_customer(self) -> Customer | None:
        field = self.fields["customer"]
        if self.is_bound and not field.disabled:
            value = self.data.get(self.add_prefix("customer"))
        else:
            value = self.initial.get("customer") or self.instance.customer_id
        if isinstance(value, Customer):
            return value
        try:
            return Customer.objects.filter(tenant=self.tenant, pk=int(value)).first() if value else None
        except (TypeError, ValueError, OverflowError):
            return None

    def clean_customer_order(self) -> str:
        return (self.cleaned_data.get("customer_order") or "").strip()

    def clean_location_id(self) -> str:
        return (self.cleaned_data.get("location_id") or "").strip()

    def clean_delivery_country(self) -> str:
        return delivery.clean_country(self.cleaned_data.get("delivery_country"))

    def clean_delivery_contact_email(self) -> str:
        return delivery.clean_emails(self.cleaned_data.get("delivery_contact_email"))

    def clean(self):
        cleaned = super().clean()
        for name in delivery.DELIVERY_FIELDS:
            if isinstance(cleaned.get(name), str):
                cleaned[name] = cleaned[name].strip()
        if problem := delivery.request_on_problem(cleaned.get("request_on"), cleaned.get("date")):
            self.add_error("request_on", problem)
        if delivery.country_missing(cleaned) and "delivery_country" not in self.errors:
            self.add_error("delivery_country", delivery.COUNTRY_REQUIRED)
        self._check_location(cleaned)
        return cleaned

    def _check_location(self, cleaned: dict) -> None:
        """A chosen location must be one of the customer's in Visma. When Visma cannot say (it fails, or the tenant
        has no read scope), the choice stands and Visma checks it when the order is sent."""
        location, customer = cleaned.get("location_id"), cleaned.get("customer")
        if not location or customer is None or "location_id" in self.errors:
            return
        locations, problem = delivery_locations(self.tenant, customer)
        if not problem and location not in {each["id"] for each in locations}:
            self.add_error(
                "location_id",
                f"“{location}” is not one of customer {customer.number}'s delivery locations in Visma: "
                "choose one from the list.",
            )

    @property
    def has_delivery_address(self) -> bool:
        """Whether "Deliver to another address" starts open: something is typed into it, or wrong in it."""
        return any(self[name].value() or self[name].errors for name in delivery.DELIVERY_FIELDS)


NUMBER_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}
COMBOBOX_ATTRS = {
    "role": "combobox",
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "autocomplete": "off",
    "data-combobox": "items",
}


class SalesOrderLineForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = SalesOrderLine
        fields = list(LINE_FIELDS)
        field_classes = {"quantity": AmountField, "unit_price": AmountField}
        widgets = {
            "inventory_id": forms.TextInput(attrs=COMBOBOX_ATTRS),
            "quantity": forms.TextInput(attrs={**NUMBER_ATTRS, "data-line-quantity": ""}),
            "unit_price": forms.TextInput(attrs={**NUMBER_ATTRS, "data-line-price": ""}),
        }
        help_texts = {"unit_price": "Empty: Visma's price for the customer."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        prepare_item_line(self)

    def clean_inventory_id(self) -> str:
        return (self.cleaned_data.get("inventory_id") or "").strip()

    def clean_tax_category(self) -> str:
        return (self.cleaned_data.get("tax_category") or "").strip()


class BaseLineFormSet(BaseInlineFormSet):
    default_error_messages = {"too_few_forms": "Add at least one line.", "too_many_forms": "At most %(num)d lines."}

    def full_clean(self) -> None:
        super().full_clean()
        # A blank first line already says what it needs (item, quantity); "Add at least one line" would contradict it.
        if self._non_form_errors and any(form.errors for form in self.forms):
            kept = [error for error in self._non_form_errors.as_data() if error.code != "too_few_forms"]
            self._non_form_errors = self.error_class(kept, error_class="nonform", renderer=self.renderer)

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not kept:
            raise forms.ValidationError("Add at least one line.")

    def kept_lines(self) -> list[dict]:
        """The cleaned lines in the order staff see them, without deleted or empty ones; saved lines keep their id."""
        return [
            {"id": form.instance.pk, **{name: form.cleaned_data.get(name) for name in LINE_FIELDS}}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


LineFormSet = inlineformset_factory(
    SalesOrder,
    SalesOrderLine,
    form=SalesOrderLineForm,
    formset=BaseLineFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=MAX_LINES,
    validate_max=True,
    can_delete=True,
)


def empty_line_form(index: int) -> SalesOrderLineForm:
    """A fresh line row for the formset at `index`, as the add-line button appends it."""
    formset = LineFormSet(instance=SalesOrder())
    return formset._construct_form(index, empty_permitted=True, use_required_attribute=False)


class BulkActionForm(forms.Form):
    ACTIONS = {
        "submit": "Submit selected",
        "retry": "Retry failed",
        "cancel": "Cancel queued",
    }
    action = forms.ChoiceField(choices=list(ACTIONS.items()))
    orders = forms.TypedMultipleChoiceField(coerce=int, choices=[], error_messages={"required": "Select orders."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        submitted = self.data.getlist("orders") if hasattr(self.data, "getlist") else self.data.get("orders", [])
        self.fields["orders"].choices = [(v, v) for v in submitted if str(v).isdigit() and len(str(v)) < 12][:1000]


@dataclass(frozen=True)
class SummaryItem:
    """One line of the error summary above a form that could not be saved; `target` is the field's id."""

    text: str
    target: str = ""


def error_summary(form: SalesOrderForm, formset: BaseLineFormSet) -> list[SummaryItem]:
    """Every problem of a failed save, in the order of the page, each pointing at the field it concerns."""
    items = [SummaryItem(str(error)) for error in form.non_field_errors()]
    for name, field in form.fields.items():
        for error in form[name].errors:
            items.append(SummaryItem(f"{field.label}: {error}", form[name].auto_id))
    for error in formset.non_form_errors():
        items.append(SummaryItem(f"Lines: {error}", "add-line"))
    position = 0
    for line in formset.forms:
        if formset.can_delete and formset._should_delete_form(line):
            continue
        position += 1
        item_id = line["inventory_id"].auto_id
        for error in line.non_field_errors():
            items.append(SummaryItem(f"Line {position}: {error}", item_id))
        for name in line.fields:
            for error in line[name].errors:
                field = line.fields[name]
                label = field.label if name in LINE_FIELDS else "Line"
                target = line[name].auto_id if name in LINE_FIELDS else item_id
                items.append(SummaryItem(f"Line {position}, {label}: {error}", target))
    return items


def mark_invalid(form: forms.BaseForm, names) -> None:
    """Outline fields Visma complained about the way Django outlines its own errors."""
    for name in names:
        if name in form.fields:
            form.fields[name].widget.attrs["aria-invalid"] = "true"
