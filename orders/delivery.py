"""Where and when an order is delivered, and in which order type: the rules the order form and the CSV import share,
with the same words. Lengths are the model's, which are those of Visma's `NewSalesOrderAddressDto` and
`NewSalesOrderContactDto`."""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

ADDRESS_FIELDS = (
    "delivery_line1",
    "delivery_line2",
    "delivery_line3",
    "delivery_postal_code",
    "delivery_city",
    "delivery_country",
)
CONTACT_FIELDS = (
    "delivery_contact_name",
    "delivery_contact_attention",
    "delivery_contact_phone",
    "delivery_contact_email",
)
DELIVERY_FIELDS = ADDRESS_FIELDS + CONTACT_FIELDS

COUNTRY_FORMAT = "Use the two-letter country code, e.g. NO."
COUNTRY_REQUIRED = "Enter the two-letter country code: Visma needs it with a delivery address."
REQUEST_BEFORE_DATE = "The requested delivery date cannot be before the order date."
EMAIL_FORMAT = "Enter e-mail addresses like name@example.com, several separated by “;”."

_COUNTRY = re.compile(r"[A-Z]{2}")


def clean_country(value: str) -> str:
    """The country as Visma's `countryId`: two capital letters (typed in any case)."""
    value = (value or "").strip().upper()
    if value and not _COUNTRY.fullmatch(value):
        raise ValidationError(COUNTRY_FORMAT, code="country")
    return value


def clean_emails(value: str) -> str:
    """One e-mail address or several separated by ";" (Visma's `contact.email`), written back without spaces."""
    addresses = [part.strip() for part in (value or "").split(";") if part.strip()]
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(EMAIL_FORMAT, code="email") from None
    return ";".join(addresses)


def country_missing(values: dict) -> bool:
    """An address without a country: Visma fills in nothing the order does not give, so it cannot be sent."""
    return not values.get("delivery_country") and any(values.get(name) for name in ADDRESS_FIELDS)


def request_on_problem(request_on: date | None, order_date: date | None) -> str:
    if request_on and order_date and request_on < order_date:
        return REQUEST_BEFORE_DATE
    return ""


def order_type_problem(value: str, choices: list[str]) -> str:
    if value in choices:
        return ""
    return f"Choose one of the order types set up for this tenant: {', '.join(choices)}."


def has_address(order) -> bool:
    return any(getattr(order, name) for name in ADDRESS_FIELDS)


def has_contact(order) -> bool:
    return any(getattr(order, name) for name in CONTACT_FIELDS)
