"""One-line text staff type (names, references, ids): no line breaks, tabs or other control characters, which would
break the e-mail headers, log lines and Visma fields these values end up in."""

from __future__ import annotations

import unicodedata

from django import forms
from django.core.exceptions import ValidationError

SINGLE_LINE_MESSAGE = "Use one line without control characters (line breaks, tabs and the like)."


def has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value)


def validate_single_line(value) -> None:
    if value is not None and has_control_characters(str(value)):
        raise ValidationError(SINGLE_LINE_MESSAGE, code="control_characters")


def is_single_line(field: forms.Field) -> bool:
    """A text field typed on one line: not a text area, not a secret (a secret is kept exactly as typed)."""
    return isinstance(field, forms.CharField) and not isinstance(field.widget, forms.Textarea | forms.PasswordInput)


def refuse_control_characters(form: forms.BaseForm) -> None:
    """Give every one-line text field of `form` `validate_single_line`, so its message shows next to the field."""
    for field in form.fields.values():
        if is_single_line(field) and validate_single_line not in field.validators:
            field.validators.append(validate_single_line)
