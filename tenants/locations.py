"""A customer's delivery locations for the order form, from Visma, cached like the item suggestions."""

from __future__ import annotations

from django.core.cache import cache

from . import paging, staff_reads
from .inventory import CACHE_SECONDS, PROBLEM_SECONDS
from .models import Customer, Tenant
from .visma import VismaClient, VismaError, remote_text

ID_MAX_LENGTH = 30  # SalesOrder.location_id: a longer id could not be stored with an order
TEXT_LIMIT = 100


def delivery_locations(tenant: Tenant, customer: Customer, user=None) -> tuple[list[dict], str]:
    """(locations, problem): the customer's active locations from `GET /api/v3/Customers/{id}/locations`, each
    reduced to what the order form shows, or why there are none.

    Kept for CACHE_SECONDS per tenant and customer; why Visma gave none is kept PROBLEM_SECONDS (or a 429's
    Retry-After), so opening order forms makes no further calls while Visma refuses or fails. A call counts against
    `user`'s limit of reads (`staff_reads`)."""
    key = f"locations:{tenant.pk}:{tenant.tenant_id}:{customer.pk}"
    locations = cache.get(key)
    if locations is not None:
        return locations, ""
    if not tenant.can_read:
        return [], "Delivery locations need the read scope, which this tenant has not approved."
    if problem := cache.get(f"{key}:problem"):
        return [], problem
    if (wait := staff_reads.wait_for(user)) is not None:
        return [], f"Delivery locations are unavailable: {staff_reads.refusal(wait)}"
    try:
        raw = VismaClient(tenant, for_staff=True).get_customer_locations(customer.number)
    except VismaError as exc:
        problem = f"Delivery locations are unavailable: {paging.message(exc)}"
        wait = getattr(exc, "retry_after", None) or PROBLEM_SECONDS
        cache.set(f"{key}:problem", problem, min(max(wait, PROBLEM_SECONDS), CACHE_SECONDS))
        return [], problem
    locations = [reduce(location) for location in raw if _usable(location)]
    cache.set(key, locations, CACHE_SECONDS)
    return locations, ""


def _usable(location: dict) -> bool:
    """Visma only takes an active location of the customer; one without an id cannot be chosen at all."""
    location_id = location.get("id")
    return (
        isinstance(location_id, str)
        and 0 < len(location_id.strip()) <= ID_MAX_LENGTH
        and location_id.strip().isprintable()
        and location.get("active") is not False
    )


def reduce(location: dict) -> dict:
    """A `CustomerLocationItemDto` as the form shows it: id, name, address lines, postal code, city, country,
    contact, and `label`, the option's text."""
    address = location.get("address") if isinstance(location.get("address"), dict) else {}
    contact = location.get("contact") if isinstance(location.get("contact"), dict) else {}
    country = address.get("country") if isinstance(address.get("country"), dict) else {}
    reduced = {
        "id": location["id"].strip(),
        "name": _text(location.get("name")),
        "lines": [text for name in ("line1", "line2", "line3") if (text := _text(address.get(name)))],
        "postal_code": _text(address.get("postalCode")),
        "city": _text(address.get("city")),
        "country": _text(country.get("id") or location.get("countryId")),
        "contact": ", ".join(
            text for name in ("name", "attention", "phone1", "email") if (text := _text(contact.get(name)))
        ),
    }
    place = " ".join(part for part in (reduced["postal_code"], reduced["city"]) if part)
    where = ", ".join(part for part in (*reduced["lines"], place, reduced["country"]) if part)
    reduced["label"] = " — ".join(part for part in (reduced["id"], reduced["name"], where) if part)
    return reduced


def _text(value) -> str:
    return remote_text.clean(value, limit=TEXT_LIMIT) if isinstance(value, str) else ""
