"""The customers list: filters, search and sort, answered from indexes at 100,000 customers; names sort in the portal
language's order (core.collation)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from core.collation import collated
from core.listing import Sorting, case_variants, prefix_q
from core.text import search_text

from .customer_models import Customer
from .models import Tenant

SORT_LABELS = {
    "number": "Number",
    "name": "Name",
    "status": "Status",
    "tenant": "Tenant",
    "seen": "Last seen",
}
STATE_FILTERS = {"active": "In Visma", "removed": "Removed in Visma", "all": "All"}
STATUSES = ("Active", "OnHold", "CreditHold", "Inactive", "OneTime")
PAGE_SIZES = (25, 50, 100, 200)


def sort_columns() -> dict[str, tuple]:
    return {
        "number": ("number",),
        "name": (collated("name"),),
        "status": ("status",),
        "tenant": ("tenant__name",),
        "seen": ("last_seen_at",),
    }


@dataclass
class Filters:
    tenant: Tenant | None
    query: str
    status: str
    state: str

    @property
    def active(self) -> bool:
        return bool(self.tenant or self.query or self.status or self.state != "active")


def read_filters(params, tenants: list[Tenant]) -> Filters:
    status = str(params.get("status", ""))
    state = str(params.get("state", "active"))
    return Filters(
        tenant=next((t for t in tenants if str(t.pk) == params.get("tenant")), None),
        query=search_text(params.get("q")),
        status=next((s for s in STATUSES if s.lower() == status.lower()), ""),
        state=state if state in STATE_FILTERS else "active",
    )


def page_size(params) -> int:
    value = str(params.get("size", ""))
    return int(value) if value.isdecimal() and int(value) in PAGE_SIZES else 50


def sorting(params) -> Sorting:
    return Sorting(params, sort_columns(), "number", SORT_LABELS)


# FTS5's trigram tokenizer indexes runs of three characters: a shorter text cannot be looked up in it.
TRIGRAM = 3


def search(query: str) -> Q:
    """Numbers from their start (as typed or in upper case), names anywhere, ignoring case.

    Both answered from indexes (tenants migration 0012): on PostgreSQL the `icontains` lookup reads the trigram index
    on the upper-cased name; on SQLite the name part is a phrase match in the FTS5 trigram table. One or two
    characters match names by a scan (no trigram to look up)."""
    numbers = Q()
    for text in case_variants(query):
        numbers |= prefix_q("number", text)
    return numbers | _name_contains(query)


def _name_contains(query: str) -> Q:
    if connection.vendor != "sqlite" or len(query) < TRIGRAM:
        return Q(name__icontains=query)
    phrase = '"' + query.replace('"', '""') + '"'
    return Q(pk__in=RawSQL("SELECT rowid FROM customer_name_search WHERE customer_name_search MATCH %s", (phrase,)))


def filtered(filters: Filters) -> QuerySet:
    customers = Customer.objects.all()
    if filters.tenant:
        customers = customers.filter(tenant=filters.tenant)
    if filters.query:
        customers = customers.filter(search(filters.query))
    if filters.status:
        customers = customers.filter(status=filters.status)
    if filters.state == "active":
        customers = customers.filter(removed_at__isnull=True)
    elif filters.state == "removed":
        customers = customers.filter(removed_at__isnull=False)
    return customers


def tenants_with_count(params) -> list[Tenant]:
    """The active tenants for the tenant filter; the one the list is filtered to (`?tenant=`) carries the number of
    its customers that the other filters let through (`listed`), so one tenant's list, which also shows its last
    sync, costs no more queries than all tenants'."""
    tenants = Tenant.objects.filter(active=True).order_by("name")
    wanted = str(params.get("tenant", ""))
    if wanted.isdecimal() and len(wanted) < 12:
        others = filtered(read_filters(params, []))
        count = others.filter(tenant=OuterRef("pk")).order_by().values("tenant").annotate(n=Count("pk")).values("n")
        listed = Coalesce(Subquery(count, output_field=IntegerField()), 0)
        tenants = tenants.annotate(listed=Case(When(pk=int(wanted), then=listed), default=None))
    return list(tenants)
