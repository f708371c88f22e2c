"""What every admin of the portal shares so that no posted or filtered value ends in a server error.

SQLite refuses an integer beyond 64 bits in a query (OverflowError) and PostgreSQL a NUL in text, and Django checks
the ids of a multiple choice and of an action's selection with an `IN (...)` query; a date hierarchy at the end of
the calendar overflows the date type. Values that cannot be ids are refused before they reach the database, and a
changelist whose filters overflow shows the unfiltered list with Django's "invalid filter" note. One-line text
fields refuse control characters, as the portal's own forms do.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from .validators import is_single_line, validate_single_line


def can_be_key(field, value) -> bool:
    """Whether `value` is something `field` (a primary key or other unique field) can hold, so looking it up is safe."""
    if "\x00" in str(value):  # PostgreSQL refuses NUL in any text
        return False
    try:
        field.run_validators(field.to_python(value))
    except (ValidationError, TypeError, ValueError):
        return False
    return True


class KeyCheckedMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A multiple choice that refuses an id its model's key cannot hold instead of querying with it."""

    def _check_values(self, value):
        model_opts = self.queryset.model._meta
        field = model_opts.pk if not self.to_field_name else model_opts.get_field(self.to_field_name)
        for pk in value:
            if not can_be_key(field, pk):
                message = self.error_messages["invalid_pk_value"]
                raise ValidationError(message, code="invalid_pk_value", params={"pk": pk})
        return super()._check_values(value)


class SafeChangeList(ChangeList):
    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as exc:  # e.g. a date hierarchy's 9999-12-31 plus a day
            raise IncorrectLookupParameters(exc) from exc

    def get_results(self, request):
        try:
            super().get_results(request)
        except OverflowError as exc:  # a filter's id beyond what the database takes
            raise IncorrectLookupParameters(exc) from exc


class SafeAdminMixin:
    """For every ModelAdmin and inline of the portal (and the auth admins it re-registers)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and is_single_line(field) and validate_single_line not in field.validators:
            field.validators.append(validate_single_line)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("form_class", KeyCheckedMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_changelist(self, request, **kwargs):
        return SafeChangeList

    def response_action(self, request, queryset):
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
        if not all(can_be_key(self.model._meta.pk, pk) for pk in selected):
            self.message_user(request, "Nothing was done: the selection holds an id no item has.", messages.WARNING)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)


class SafeModelAdmin(SafeAdminMixin, admin.ModelAdmin):
    pass
