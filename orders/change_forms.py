"""The forms on the order page that change an order Visma has: its details, lines to add, Visma's lines to change.
Each is sent with the version (ETag) of the order the page showed (a hidden `version` beside the form's fields)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator
from django.forms import formset_factory

from core.validators import refuse_control_characters

from . import changes
from .forms import COMBOBOX_ATTRS, NUMBER_ATTRS, BootstrapMixin, prepare_item_line
from .models import SalesOrder
from .numbers import AmountField, decimal_or_none

MAX_NEW_LINES = 50


class DetailsForm(BootstrapMixin, forms.Form):
    description = forms.CharField(max_length=255, required=False)
    note = forms.CharField(max_length=2048, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    request_on = forms.DateField(
        label="Requested delivery date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, order: SalesOrder, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "description": order.description,
                "note": order.note,
                "request_on": order.request_on,
            },
        )
        super().__init__(*args, **kwargs)
        self.order = order
        refuse_control_characters(self)
        self.style_widgets()

    def clean_request_on(self):
        day = self.cleaned_data.get("request_on")
        if day is None and self.order.request_on is not None:
            raise forms.ValidationError("Visma keeps a requested date for every order: choose a date.")
        if day is not None and day < self.order.date:
            raise forms.ValidationError(f"The requested date cannot be before the order date ({self.order.date}).")
        return day

    def wanted(self) -> dict:
        return {name: self.cleaned_data[name] for name in changes.EDIT_FIELDS}


class NewLineForm(BootstrapMixin, forms.Form):
    inventory_id = forms.CharField(label="Item", max_length=30, widget=forms.TextInput(attrs=COMBOBOX_ATTRS))
    quantity = AmountField(
        max_digits=14,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0.0001"), "Quantity must be more than 0.")],
        widget=forms.TextInput(attrs=NUMBER_ATTRS),
    )
    unit_price = AmountField(
        max_digits=15,
        decimal_places=4,
        required=False,
        validators=[MinValueValidator(Decimal(0), "Unit price cannot be negative.")],
        widget=forms.TextInput(attrs=NUMBER_ATTRS),
        help_text="Empty: Visma's price for the customer.",
    )
    description = forms.CharField(max_length=256, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        prepare_item_line(self)

    def clean_inventory_id(self) -> str:
        return (self.cleaned_data.get("inventory_id") or "").strip()


class BaseNewLineFormSet(forms.BaseFormSet):
    default_error_messages = {"too_few_forms": "Give at least one line.", "too_many_forms": "At most %(num)d lines."}

    def wanted(self) -> list[dict]:
        return [form.cleaned_data for form in self.forms if form.cleaned_data]


NewLineFormSet = formset_factory(
    NewLineForm,
    formset=BaseNewLineFormSet,
    extra=2,
    min_num=1,
    validate_min=True,
    max_num=MAX_NEW_LINES,
    validate_max=True,
    absolute_max=MAX_NEW_LINES,
)


class VismaLineForm(BootstrapMixin, forms.Form):
    """One of Visma's lines: its quantity, price and description as they should be."""

    line_id = forms.IntegerField(widget=forms.HiddenInput)
    quantity = AmountField(
        max_digits=14,
        decimal_places=4,
        validators=[MinValueValidator(Decimal(0), "Quantity cannot be negative.")],
        widget=forms.TextInput(attrs=NUMBER_ATTRS),
    )
    unit_price = AmountField(
        max_digits=15,
        decimal_places=4,
        required=False,
        validators=[MinValueValidator(Decimal(0), "Unit price cannot be negative.")],
        widget=forms.TextInput(attrs=NUMBER_ATTRS),
    )
    description = forms.CharField(max_length=256, required=False)

    def __init__(self, *args, line_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.line_ids = line_ids
        refuse_control_characters(self)
        self.style_widgets(size="sm")

    def clean_line_id(self) -> int:
        line_id = self.cleaned_data["line_id"]
        if line_id not in self.line_ids:
            raise forms.ValidationError("This is not a line of the order in Visma; reload the page.")
        return line_id

    @property
    def visma_line(self) -> dict:
        return self.initial or {}


class BaseVismaLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, order: SalesOrder, **kwargs):
        self.lines = changes.visma_lines(order)
        kwargs.setdefault(
            "initial",
            [
                {
                    "line_id": line["lineId"],
                    "quantity": decimal_or_none(line["quantity"]),
                    "unit_price": decimal_or_none(line["unitPrice"]),
                    "description": line["description"],
                    "item": line["inventoryId"],
                }
                for line in self.lines
            ],
        )
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "line_ids": {line["lineId"] for line in self.lines}}

    def clean(self) -> None:
        seen = set()
        for form in self.forms:
            line_id = form.cleaned_data.get("line_id") if form.cleaned_data else None
            if line_id in seen:
                raise forms.ValidationError("Each line can be changed once per change.")
            seen.add(line_id)

    def wanted(self) -> list[dict]:
        return [form.cleaned_data for form in self.forms if form.cleaned_data]


VismaLineFormSet = formset_factory(
    VismaLineForm, formset=BaseVismaLineFormSet, extra=0, max_num=1000, absolute_max=1000, validate_max=True
)
