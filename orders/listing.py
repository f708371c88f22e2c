"""The orders list: filters, search, sort and the page, each answered from an index at 100,000 orders.

Search takes what staff see: a portal reference, a customer's order number, a customer number or name, or a Visma
number as shown ("SO 000001", "SO000001", "000001"); references and numbers match from their start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from core.listing import DateRange, Sorting, case_variants, date_range, page_of, prefix_q
from core.text import search_text
from tenants.models import Customer, Tenant

from . import refresh, visma_status
from .models import SalesOrder, SalesOrderLine

State = SalesOrder.State
PAGE_SIZE = 50
SORTS = {
    "date": ("date", "created_at"),
    "reference": ("reference",),
    "customer": ("customer__number",),
    "total": ("lines_total",),
    "state": ("state", "date", "created_at"),
    "visma": ("visma_number",),
}
SORT_LABELS = {
    "date": "Date",
    "reference": "Reference",
    "customer": "Customer",
    "total": "Total",
    "state": "State",
    "visma": "Visma number",
}
DEFAULT_SORT = "-date"
VISMA_NUMBER = re.compile(r"^(?:([A-Za-z]{2})\s*)?(\d{1,15})$")
AMOUNT = DecimalField(max_digits=30, decimal_places=8)


@dataclass
class Filters:
    tenant: Tenant | None
    customer: Customer | None
    query: str
    state: str
    dates: DateRange
    visma_status: str = ""  # one of visma_status.KNOWN: the status Visma last gave the order

    @property
    def active(self) -> bool:
        """Whether anything narrows the list (the state tabs count as a filter)."""
        return bool(self.tenant or self.customer or self.query or self.state or self.dates.active or self.visma_status)


def read_filters(params, tenants: list[Tenant]) -> Filters:
    tenant = next((t for t in tenants if str(t.pk) == params.get("tenant")), None)
    customer = None
    customer_pk = str(params.get("customer", ""))
    if customer_pk.isdecimal() and len(customer_pk) < 12:
        customer = Customer.objects.filter(pk=int(customer_pk)).first()
    state = params.get("state", "")
    in_visma = params.get("visma_status", "")
    return Filters(
        tenant=tenant,
        customer=customer,
        query=search_text(params.get("q")),
        state=state if state in State.values else "",
        dates=date_range(params, "Order date from", "Order date to"),
        visma_status=in_visma if in_visma in visma_status.KNOWN else "",
    )


def search(query: str) -> Q:
    """Orders whose reference, customer's order number or Visma number starts with `query`, or whose customer's
    number or name does: every part is read from an index."""
    condition = Q()
    for text in case_variants(query):
        condition |= prefix_q("reference", text) | prefix_q("customer_order", text)
    if match := VISMA_NUMBER.match(query.replace("\u00a0", " ")):
        order_type, number = match.groups()
        visma = prefix_q("visma_number", number)
        if order_type:  # "SO 000123" is a Visma number as shown, never a customer's
            return condition | (visma & Q(visma_type=order_type.upper()))
        condition |= visma
    if connection.vendor != "postgresql":
        return condition | Q(customer__in=Customer.objects.filter(customer_prefix(query)).values("pk"))
    # PostgreSQL cannot combine a sub-select with index scans in one OR (it scans the table): each part is its own
    # indexed branch of a UNION, and the orders are those the union names.
    by_customer = SalesOrder.objects.filter(customer__in=Customer.objects.filter(customer_prefix(query)).values("pk"))
    own = SalesOrder.objects.filter(condition)
    return Q(pk__in=own.order_by().values("pk").union(by_customer.order_by().values("pk")))


def customer_prefix(query: str) -> Q:
    """Customers whose number or name starts with `query`, as typed, in upper case or capitalised."""
    condition = Q()
    for text in dict.fromkeys([*case_variants(query), query.capitalize(), query.title()]):
        condition |= prefix_q("number", text) | prefix_q("name", text)
    return condition


def filtered(filters: Filters) -> QuerySet:
    """Every filter but the state (the state tabs count the orders of each state within the others)."""
    orders = SalesOrder.objects.all()
    if filters.tenant:
        orders = orders.filter(tenant=filters.tenant)
    if filters.customer:
        orders = orders.filter(customer=filters.customer)
    if filters.query:
        orders = orders.filter(search(filters.query))
    if filters.dates.start:
        orders = orders.filter(date__gte=filters.dates.start)
    if filters.dates.end:
        orders = orders.filter(date__lte=filters.dates.end)
    if filters.visma_status:
        orders = orders.filter(visma_status=filters.visma_status)
    return orders


def state_counts(orders: QuerySet) -> dict[str, int]:
    return dict(orders.order_by().values_list("state").annotate(n=Count("*")))


def page_rows() -> QuerySet:
    """The rows of one page, with their tenant and customer and each order's line count and total (computed for the
    page's fifty orders only; lines without a price add nothing, an order with none priced has no total)."""
    lines = SalesOrderLine.objects.filter(order=OuterRef("pk")).order_by().values("order")
    amount = Sum(F("quantity") * F("unit_price"), output_field=AMOUNT)
    return SalesOrder.objects.select_related("tenant", "customer").annotate(
        line_count=Subquery(lines.annotate(n=Count("pk")).values("n")[:1]),
        total=Subquery(lines.annotate(t=amount).values("t")[:1], output_field=AMOUNT),
    )


def sorting(params) -> Sorting:
    return Sorting(params, SORTS, DEFAULT_SORT, SORT_LABELS)


def orders_page(filters: Filters, sort: Sorting, page_number, counts: dict[str, int]):
    orders = filtered(filters)
    if filters.state:
        orders = orders.filter(state=filters.state)
    count = counts.get(filters.state, 0) if filters.state else sum(counts.values())
    return page_of(orders.order_by(*sort.order_by()), PAGE_SIZE, page_number, rows=page_rows(), count=count)


IN_FLIGHT = (State.QUEUED, State.SUBMITTING)
VISMA_POLL_SECONDS = 30  # how often a page showing followed orders asks for their status in Visma (from the database)
POLL_LIMIT = 200


def moving(ids) -> list[SalesOrder]:
    """The orders with these ids (at most POLL_LIMIT), for the live state cells of a page."""
    return list(SalesOrder.objects.filter(pk__in=list(ids)[:POLL_LIMIT]).order_by())


def followed_ids(orders) -> str:
    """The orders of a page whose status in Visma the page keeps fresh, as `?ids=` takes them."""
    now = timezone.now()
    return ",".join(str(order.pk) for order in orders if refresh.is_followed(order, now))


def poll_ids(value: str) -> list[int]:
    """Ids from `?ids=1,2,3`; anything not an id is dropped."""
    ids = [part for part in str(value or "").split(",")[:POLL_LIMIT] if part.isdecimal() and len(part) < 12]
    return [int(part) for part in ids]
