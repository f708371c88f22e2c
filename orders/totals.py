"""Each order's stored lines total (`SalesOrder.lines_total`), which the orders list sorts by.

Every saved or deleted line recounts its order (a signal, so the order form, copies and the admin's inline lines all
count); code that writes lines with bulk_create, which sends no signals, calls `recount` itself.
"""

from __future__ import annotations

from django.db.models import DecimalField, F, OuterRef, Subquery, Sum

from .models import SalesOrder, SalesOrderLine

AMOUNT = DecimalField(max_digits=30, decimal_places=8)
CHUNK = 500


def recount(order_ids) -> None:
    """Store the sum of the priced lines of these orders; None when no line has a price (Visma prices them)."""
    ids = list(order_ids)
    if not ids:
        return
    amounts = (
        SalesOrderLine.objects.filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(total=Sum(F("quantity") * F("unit_price"), output_field=AMOUNT))
        .values("total")[:1]
    )
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        SalesOrder.objects.filter(pk__in=chunk).update(lines_total=Subquery(amounts, output_field=AMOUNT))


def line_changed(sender, instance: SalesOrderLine, **kwargs) -> None:
    """post_save / post_delete of a line."""
    recount([instance.order_id])
