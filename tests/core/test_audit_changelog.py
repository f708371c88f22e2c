"""The audit trail reads as a changelog: Yes/No, numbers without padding zeros, no internal fields, an order's lines
saved together as one entry, and on the order page a screenful with "Show all"."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from core.audit import audit_rows
from orders.models import SalesOrder, SalesOrderLine
from tenants.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(tenant, order_clerk):
    customer = Customer.objects.create(tenant=tenant, number="10000", name="Kunde", status="Active")
    return SalesOrder.objects.create(tenant=tenant, customer=customer, created_by=order_clerk)


def changes(row) -> dict[str, tuple[str, str]]:
    return {change.field: (change.old, change.new) for change in row.changes}


def test_booleans_read_yes_and_no(tenant):
    tenant.can_write = False
    tenant.save()
    latest = changes(audit_rows(tenant)[0])
    assert latest["Write scope approved"] == ("Yes", "No")
    text = str([row.changes for row in audit_rows(tenant)])
    assert "True" not in text and "False" not in text


def test_a_new_order_lists_what_it_was_given_and_no_empty_internal_fields(order):
    created = changes(audit_rows(order)[-1])
    assert created["State"] == ("", "Draft")
    assert "Visma type" not in created and "Visma number" not in created and "Last error" not in created
    assert all(new for _, new in created.values())


def test_quantities_and_prices_have_no_padding_zeros(order):
    SalesOrderLine.objects.create(
        order=order, position=1, inventory_id="STOCK-100", quantity=Decimal("2.5"), unit_price=Decimal("449")
    )
    line = order.lines.get()
    line.quantity = Decimal("3")
    line.save()
    rows = audit_rows(order)
    line_changes = [change for row in rows for child in row.children for change in child.changes]
    values = {(change.field, change.old, change.new) for change in line_changes}
    assert ("Quantity", "2.5", "3") in values
    assert ("Unit price", "", "449") in values
    assert not any("0000" in change.old + change.new for change in line_changes)
    assert [child.subject for row in rows for child in row.children] == ["1. STOCK-100 x 3", "1. STOCK-100 x 2.5"]
    assert "Order" not in {change.field for change in line_changes}  # the order it belongs to goes without saying


def test_lines_saved_together_are_one_entry(order, clerk_client):
    for position in (1, 2, 3):
        SalesOrderLine.objects.create(order=order, position=position, inventory_id=f"ITEM-{position}", quantity=1)
    rows = audit_rows(order)
    assert [row.action for row in rows] == ["3 lines added", "create"]
    assert [child.subject.split(".")[0] for child in rows[0].children] == ["1", "2", "3"]
    html = clerk_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert html.count("data-audit-entry") == 2 and "3 lines added" in html and "<details" in html


def test_the_order_page_shows_a_screenful_and_offers_the_rest(order, clerk_client):
    for n in range(12):
        order.description = f"Revision {n}"
        order.save()
    url = reverse("orders:order-detail", args=[order.pk])
    html = clerk_client.get(url).content.decode()
    assert html.count("data-audit-entry") == 8
    assert "Show all" in html and "?audit=all" in html
    everything = clerk_client.get(url + "?audit=all").content.decode()
    assert everything.count("data-audit-entry") == 13 and "data-audit-more" not in everything


def test_the_secret_is_a_labelled_change_never_an_internal_field(admin_client_, application):
    application.set_secret("another-secret-value")
    application.save()
    html = admin_client_.get(reverse("tenants:application-detail", args=[application.pk])).content.decode()
    assert "Client secret" in html and "secret changed" in html
    assert "encrypted" not in html.lower()
