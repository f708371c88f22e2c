from __future__ import annotations

import pytest
from django.urls import reverse

from core.text import search_text


def test_search_text_drops_control_characters_trims_and_caps():
    assert search_text(" Nord\x00lys\x1b \t") == "Nordlys"
    assert search_text(None) == ""
    assert search_text("å" * 500) == "å" * 100


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["orders:order-list", "tenants:customer-list", "tenants:api-call-list", "orders:customer-options"]
)
def test_search_boxes_survive_a_nul_byte_on_every_database(admin_client_, clerk_client, tenant, url):
    params = {"q": "a\x00b", "context": "\x00", "tenant": tenant.pk}
    assert clerk_client.get(reverse(url), params).status_code == 200


@pytest.mark.django_db
def test_nul_in_any_query_parameter_is_dropped_before_a_view_sees_it(viewer_client, tenant):
    response = viewer_client.get(reverse("tenants:customer-list"), {"status": "Act\x00ive", "q": "x\x00"})
    assert response.status_code == 200 and response.context["status"] == "Active"
