"""A new order's untouched first line: its own field errors say what is missing, without a contradicting summary."""

from __future__ import annotations

import pytest

from orders.forms import LineFormSet
from orders.models import SalesOrder

pytestmark = pytest.mark.django_db


def test_a_blank_first_line_is_not_also_told_to_add_a_line(clerk_client, tenant):
    data = {"lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-inventory_id": "", "lines-0-quantity": ""}
    formset = LineFormSet(data, instance=SalesOrder(tenant=tenant), prefix="lines")
    assert not formset.is_valid()
    assert formset.non_form_errors() == []
    assert set(formset.forms[0].errors) == {"inventory_id", "quantity"}
