"""The customers list: sorting with aria-sort (names in the portal language's order), clear filters, hostile values,
empty-state wording and a fixed number of queries."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from core import collation
from tenants.customer_models import Customer, CustomerSync

pytestmark = pytest.mark.django_db
NAMES = ["Åsgard AS", "Zeta AS", "Ærlig AS", "Apotek AS", "Øst AS", "Ørn AS", "Mølle AS", "émile AS"]


def names(response) -> list[str]:
    return [c.name for c in response.context["page"].object_list]


@pytest.fixture
def named(tenant):
    Customer.objects.bulk_create(
        Customer(tenant=tenant, number=str(30000 + i), name=name, status="Active") for i, name in enumerate(NAMES)
    )


def test_norwegian_names_sort_with_ae_oe_aa_after_z(viewer_client, named, settings):
    settings.LANGUAGE_CODE = "nb"
    response = viewer_client.get(reverse("tenants:customer-list"), {"sort": "name"})
    assert names(response) == [
        "Apotek AS",
        "émile AS",
        "Mølle AS",
        "Zeta AS",
        "Ærlig AS",
        "Ørn AS",
        "Øst AS",
        "Åsgard AS",
    ]
    descending = viewer_client.get(reverse("tenants:customer-list"), {"sort": "-name"})
    assert names(descending) == list(reversed(names(response)))


def test_english_names_sort_letters_with_their_base_letter(viewer_client, named, settings):
    settings.LANGUAGE_CODE = "en-gb"
    response = viewer_client.get(reverse("tenants:customer-list"), {"sort": "name"})
    assert names(response) == [
        "Ærlig AS",
        "Apotek AS",
        "Åsgard AS",
        "émile AS",
        "Mølle AS",
        "Ørn AS",
        "Øst AS",
        "Zeta AS",
    ]


def test_the_collation_follows_the_active_language():
    assert collation.for_language("nb") == collation.NORWEGIAN
    assert collation.for_language("nb-NO") == collation.NORWEGIAN
    assert collation.for_language("en-gb") == collation.ENGLISH
    assert collation.for_language("xx") == collation.ENGLISH
    assert sorted(["å", "z", "æ", "ø", "a"], key=collation.norwegian_key) == ["a", "z", "æ", "ø", "å"]


def test_sorted_header_has_aria_sort_and_an_arrow_and_other_columns_sort_too(viewer_client, tenant, named):
    url = reverse("tenants:customer-list")
    page = viewer_client.get(url, {"sort": "-seen", "q": "AS"}).content.decode()
    seen = re.search(r'<th scope="col"[^>]*><a [^>]*data-sort="seen".*?</th>', page, re.S).group(0)
    assert 'aria-sort="descending"' in seen and "▼" in seen and "sort=seen" in seen and "q=AS" in seen
    number = re.search(r'<th scope="col"[^>]*><a [^>]*data-sort="number".*?</th>', page, re.S).group(0)
    assert "aria-sort" not in number
    default = viewer_client.get(url).content.decode()
    assert re.search(r'<th scope="col" aria-sort="ascending"><a [^>]*data-sort="number"', default)
    for key in ("number", "status", "tenant", "seen", "-number", "-status", "-tenant"):
        assert viewer_client.get(url, {"sort": key}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "password"},
        {"sort": "-tenant__application__client_secret"},
        {"status": "x" * 500},
        {"state": "<script>"},
        {"size": "999999"},
        {"page": "last"},
    ],
)
def test_hostile_values_get_the_defaults(viewer_client, named, params):
    response = viewer_client.get(reverse("tenants:customer-list"), params)
    assert response.status_code == 200 and response.context["page"].object_list
    assert viewer_client.get(reverse("tenants:customer-list"), {"q": "\x00%_"}).status_code == 200


def test_clear_filters_and_empty_result_wording(viewer_client, tenant, named):
    url = reverse("tenants:customer-list")
    assert "data-clear-filters" not in viewer_client.get(url).content.decode()
    page = viewer_client.get(url, {"q": "no such customer", "sort": "name"}).content.decode()
    assert '<a class="small" href="/tenants/customers/?sort=name" data-clear-filters>Clear filters</a>' in page
    assert 'No customers match these filters — <a href="/tenants/customers/?sort=name">clear them</a>' in page


def test_search_finds_numbers_from_their_start_and_names_anywhere(viewer_client, tenant, named):
    url = reverse("tenants:customer-list")
    assert names(viewer_client.get(url, {"q": "3000"})) == [
        "Åsgard AS",
        "Zeta AS",
        "Ærlig AS",
        "Apotek AS",
        "Øst AS",
        "Ørn AS",
        "Mølle AS",
        "émile AS",
    ]
    assert names(viewer_client.get(url, {"q": "0003"})) == []
    assert names(viewer_client.get(url, {"q": "lle"})) == ["Mølle AS"]


def test_list_pages_keep_a_fixed_number_of_queries(client, superuser, tenant, named, django_assert_max_num_queries):
    Customer.objects.bulk_create(
        Customer(tenant=tenant, number=f"B{i:05d}", name=f"Kunde {i}", status="Active") for i in range(300)
    )
    client.force_login(superuser)
    url = reverse("tenants:customer-list")
    client.get(url)  # a process's first list on PostgreSQL also asks once which collations the server has
    for params in ({}, {"page": 4}, {"sort": "name", "page": 2}, {"q": "kunde 1"}, {"sort": "-tenant"}):
        with django_assert_max_num_queries(6):  # session, user, roles, tenants, count, the page
            assert client.get(url, params).status_code == 200


def test_name_search_follows_renames_deletes_and_ignores_case(viewer_client, tenant, named):
    url = reverse("tenants:customer-list")
    assert names(viewer_client.get(url, {"q": "TEK"})) == ["Apotek AS"]
    Customer.objects.filter(name="Apotek AS").update(name="Bakeri AS")
    assert names(viewer_client.get(url, {"q": "tek"})) == []
    assert names(viewer_client.get(url, {"q": "keri"})) == ["Bakeri AS"]
    Customer.objects.filter(name="Bakeri AS").delete()
    assert names(viewer_client.get(url, {"q": "keri"})) == []
    assert names(viewer_client.get(url, {"q": 'a"s'})) == []  # a quote is searched for, not an error
    assert names(viewer_client.get(url, {"q": "Ør"})) == ["Ørn AS"]  # too short for a trigram: a scan


def test_one_tenants_list_shows_its_last_sync_in_the_same_queries(
    client, superuser, tenant, named, django_assert_max_num_queries
):
    client.force_login(superuser)
    url = reverse("tenants:customer-list")
    client.get(url)  # a process's first list on PostgreSQL also asks once which collations the server has
    with django_assert_max_num_queries(6):
        assert "Never synced" in client.get(url, {"tenant": tenant.pk}).content.decode()
    CustomerSync.objects.create(tenant=tenant, trigger=CustomerSync.Trigger.MANUAL, outcome="succeeded", fetched=8)
    for params in ({"tenant": tenant.pk}, {"tenant": tenant.pk, "q": "AS", "sort": "-seen"}):
        with django_assert_max_num_queries(6):  # session, user, roles, tenants with the count, last sync, the page
            response = client.get(url, params)
        assert response.context["page"].paginator.count == 8
        assert "Synced" in response.content.decode()
    assert client.get(url, {"tenant": tenant.pk, "q": "nothing"}).context["page"].paginator.count == 0
    assert client.get(url, {"tenant": tenant.pk, "state": "removed"}).context["page"].paginator.count == 0
