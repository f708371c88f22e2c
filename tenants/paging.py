"""Page sizes Visma accepts on its list endpoints.

Visma documents default page sizes (100 for `GET /api/v3/Customers`) but no maximum. A list call refused with a 400
about paging is asked again with a smaller size, down to 100; the size that worked is remembered per tenant and
endpoint, without expiry (a lost memory costs one more refused request). The customer sync also takes a page cut
short without a 400 (fewer customers than asked, with a next page) as the size Visma serves, and remembers it alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.cache import cache

from .visma import ValidationRejected, VismaError

SMALLEST = 100  # Visma's default for Customers: a refusal of it is a real error
CUSTOMERS = "Customers"
INVENTORY = "Inventory"


def is_refusal(exc: Exception) -> bool:
    """Whether Visma refused the request because of its pageSize or pageIndex."""
    if not isinstance(exc, ValidationRejected):
        return False
    fields = " ".join(str(name) for name in _field_errors(exc)).lower()
    text = " ".join([exc.message, *_field_messages(exc)]).lower()
    return "pagesize" in fields or "pageindex" in fields or "pagesize" in text or "page size" in text


def first_size(tenant_pk: int, endpoint: str, wanted: int) -> int:
    """The size to ask for: the remembered one when smaller, else `wanted`, above 100 rounded down to a multiple of
    100 so that every smaller size divides it."""
    if wanted > SMALLEST:
        wanted -= wanted % SMALLEST
    remembered = cache.get(_key(tenant_pk, endpoint))
    return min(wanted, remembered) if remembered else wanted


def smaller(size: int) -> int | None:
    """The size to try after `size` was refused: the largest multiple of 100 that divides it (so the same offset
    falls on a page boundary), or None when `size` is 100 or less."""
    if size <= SMALLEST:
        return None
    return max((d for d in range(SMALLEST, size, SMALLEST) if size % d == 0), default=SMALLEST)


def remember(tenant_pk: int, endpoint: str, size: int) -> None:
    cache.set(_key(tenant_pk, endpoint), size, timeout=None)


def note(refused: list[int], used: int, short: Sequence[tuple[int, int]] = ()) -> str:
    """For a summary: "Visma refused pages of 1,000 and 500; used 100.", "Visma served 100 customers per page
    although 1,000 were asked; used 100." (`short` holds (asked, served) per page cut short without a 400), both in
    one sentence, or "" when every size was served as asked."""
    clauses = []
    if refused:
        sizes = [f"{size:,}" for size in refused]
        listed = sizes[0] if len(sizes) == 1 else f"{', '.join(sizes[:-1])} and {sizes[-1]}"
        clauses.append(f"refused pages of {listed}")
    clauses += [f"served {served:,} customers per page although {asked:,} were asked" for asked, served in short]
    if not clauses:
        return ""
    return f"Visma {' and '.join(clauses)}" + ("." if used in refused else f"; used {used:,}.")


def message(exc: VismaError) -> str:
    """The error as staff should read it, with Visma's messages about single fields (a 400's title says little)."""
    return " ".join([str(exc), *_field_messages(exc)])


def _field_errors(exc: VismaError) -> dict:
    return exc.field_errors if isinstance(exc.field_errors, dict) else {}


def _field_messages(exc: VismaError) -> list[str]:
    messages = []
    for value in _field_errors(exc).values():
        messages.extend(str(text) for text in (value if isinstance(value, list) else [value]))
    return messages


def _key(tenant_pk: int, endpoint: str) -> str:
    return f"visma-page-size:{tenant_pk}:{endpoint}"
