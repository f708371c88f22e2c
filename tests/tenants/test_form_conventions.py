"""Forms and pages read alike: a new application has no "leave blank" hint, a new tenant starts read only with the
only application chosen, required fields are marked, every page has breadcrumbs, Cancel and Filter look the same."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.core.test_permission_matrix import MATRIX, ROLES, url_for
from tests.ordering import make_order

pytestmark = pytest.mark.django_db


def test_a_new_application_has_no_hint_about_keeping_a_secret(admin_client_):
    html = admin_client_.get(reverse("tenants:application-create")).content.decode()
    assert "Leave blank" not in html and "leave blank" not in html.lower()


def test_a_new_tenant_starts_read_only_with_the_only_application_chosen(admin_client_, application):
    form = admin_client_.get(reverse("tenants:tenant-create")).context["form"]
    assert form["can_read"].value() is True and form["can_write"].value() is False
    assert form["application"].value() == application.pk


def test_with_two_applications_none_is_chosen_for_you(admin_client_, application):
    from tenants.models import ServiceApplication

    ServiceApplication.objects.create(name="Second", client_id="second", token_url=application.token_url)
    form = admin_client_.get(reverse("tenants:tenant-create")).context["form"]
    assert form["application"].value() in (None, "")


def test_required_fields_are_marked(admin_client_, application):
    for url in (reverse("tenants:tenant-create"), reverse("tenants:application-create")):
        html = admin_client_.get(url).content.decode()
        assert re.search(r'class="[^"]*\brequired\b[^"]*"[^>]*>\s*<label[^>]*for="id_name"', html), url
        assert "are required" in html


def test_every_page_has_breadcrumbs(admin_client_, clerk_client, tenant, order_clerk):
    order = make_order(tenant)
    objects = {"tenant": tenant, "application": tenant.application, "customer": order.customer, "order": order}
    checked = 0
    for role, client in (("admin", admin_client_), ("clerk", clerk_client)):
        index = ROLES.index(role)
        for name, (kwargs, query, expected) in MATRIX.items():
            if name in ("dashboard", "login", "logout", "health") or expected["GET"][index] != 200:
                continue
            response = client.get(url_for(name, kwargs, query, objects))
            html = "" if response.streaming else response.content.decode()
            if "<html" not in html:
                continue  # a fragment for htmx or a download
            assert 'aria-label="breadcrumb"' in html, f"{name} as {role}"
            checked += 1
    assert checked >= 12


def test_cancel_and_filter_look_the_same_on_every_page(admin_client_, clerk_client, tenant):
    pages = [
        admin_client_.get(reverse("tenants:tenant-create")),
        clerk_client.get(reverse("orders:order-create") + f"?tenant={tenant.pk}"),
        admin_client_.get(reverse("orders:order-list")),
        admin_client_.get(reverse("tenants:customer-list")),
        admin_client_.get(reverse("tenants:api-call-list")),
    ]
    styles = {"Cancel": set(), "Filter": set()}
    for response in pages:
        for classes, label in re.findall(r'class="(btn [^"]*)"[^>]*>\s*(Cancel|Filter)\s*<', response.content.decode()):
            styles[label].add(" ".join(c for c in classes.split() if c not in ("w-100", "btn-sm")))
    assert len(styles["Cancel"]) == 1 and len(styles["Filter"]) == 1, styles
