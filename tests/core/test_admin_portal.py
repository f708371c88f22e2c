"""The Django admin looks like part of the portal: its name and icon, Visma numbers as the portal shows them, and no
way to type an order's state, attempts or errors by hand."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.models import SalesOrder
from tests.conftest import logged_in
from tests.ordering import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_site(superuser):
    return logged_in(superuser)


def test_the_admin_carries_the_portal_name_and_icon(admin_site):
    html = admin_site.get(reverse("admin:index")).content.decode()
    assert "<title>Records behind the portal | Visma order portal admin</title>" in html
    assert 'id="site-name"><a href="/admin/">Visma order portal: admin</a>' in html
    assert "Django administration" not in html and "Django site admin" not in html
    assert 'rel="icon" href="/static/portal/favicon.svg"' in html


def test_the_admin_login_page_is_branded_too(client):
    html = client.get(reverse("admin:login")).content.decode()
    assert "Visma order portal: admin" in html and "favicon.svg" in html


def test_sales_orders_are_not_added_in_the_admin(admin_site):
    assert admin_site.get(reverse("admin:orders_salesorder_add")).status_code == 403
    changelist = admin_site.get(reverse("admin:orders_salesorder_changelist")).content.decode()
    assert "Add sales order" not in changelist
    assert reverse("admin:orders_salesorder_add") not in changelist


def test_state_attempts_and_errors_are_never_form_fields(admin_site, tenant):
    order = make_order(tenant)
    form = admin_site.get(reverse("admin:orders_salesorder_change", args=[order.pk])).context["adminform"].form
    assert {"state", "attempts", "last_error", "visma_number", "visma_type"}.isdisjoint(form.fields)


def test_visma_numbers_read_as_in_the_portal(admin_site, tenant):
    order = make_order(tenant)
    SalesOrder.objects.filter(pk=order.pk).update(visma_type="SO", visma_number="000042", state="submitted")
    changelist = admin_site.get(reverse("admin:orders_salesorder_changelist")).content.decode()
    assert "SO 000042" in changelist
    change = admin_site.get(reverse("admin:orders_salesorder_change", args=[order.pk])).content.decode()
    assert "SO 000042" in change


def test_an_order_is_found_by_its_visma_number_as_shown(admin_site, tenant):
    order, other = make_order(tenant), make_order(tenant, number="10001")
    SalesOrder.objects.filter(pk=order.pk).update(visma_type="SO", visma_number="000042", state="submitted")
    url = reverse("admin:orders_salesorder_changelist")
    found = admin_site.get(url, {"q": "SO 000042"}).context["cl"].result_list
    assert list(found) == [order]
    assert other not in admin_site.get(url, {"q": "000042"}).context["cl"].result_list
    assert admin_site.get(url, {"q": "Kunde 10001"}).context["cl"].result_count == 1


def test_a_tenant_added_in_the_admin_starts_read_only(admin_site):
    form = admin_site.get(reverse("admin:tenants_tenant_add")).context["adminform"].form
    assert form["can_read"].value() is True and form["can_write"].value() is False
