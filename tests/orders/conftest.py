"""Fixtures for the order tests."""

from __future__ import annotations

import pytest

from tenants.models import Customer


@pytest.fixture
def customers(tenant):
    """Customers the sandbox knows: 10000-10007 are Active, 10008 is OnHold."""
    rows = [Customer(tenant=tenant, number=str(10000 + i), name=f"Kunde {i}", status="Active") for i in range(8)]
    rows.append(Customer(tenant=tenant, number="10008", name="Paused AS", status="OnHold"))
    return {c.number: c for c in Customer.objects.bulk_create(rows)}
