"""The API calls list: sort by time or duration with aria-sort, the date range, clear filters, empty-state wording and
a fixed number of queries."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tenants import api_log

pytestmark = pytest.mark.django_db
URL = "/tenants/api-calls/"


def calls(tenant, durations) -> None:
    for index, duration in enumerate(durations):
        api_log.record(
            tenant_id=tenant.pk,
            kind="api",
            method="GET",
            path="/api/v3/Customers",
            status=200,
            duration_ms=duration,
            request_id=f"req-{index}",
        )


def test_url():
    assert reverse("tenants:api-call-list") == URL


def test_sorts_by_duration_both_ways_with_aria_sort(viewer_client, tenant):
    calls(tenant, [30, 10, 20])
    response = viewer_client.get(URL, {"sort": "-duration", "tenant": tenant.pk})
    assert [c.duration_ms for c in response.context["page"].object_list] == [30, 20, 10]
    page = response.content.decode()
    header = re.search(r'<th scope="col"[^>]*><a [^>]*data-sort="duration".*?</th>', page, re.S).group(0)
    assert 'aria-sort="descending"' in header and "▼" in header and "sort=duration" in header
    ascending = viewer_client.get(URL, {"sort": "duration"})
    assert [c.duration_ms for c in ascending.context["page"].object_list] == [10, 20, 30]
    newest_first = viewer_client.get(URL, {"sort": "bogus"}).context["page"].object_list
    assert [c.started_at for c in newest_first] == sorted((c.started_at for c in newest_first), reverse=True)


def test_a_from_date_after_the_to_date_is_an_error_next_to_the_field(viewer_client, tenant):
    calls(tenant, [5])
    response = viewer_client.get(URL, {"from": "2026-12-02", "to": "2026-12-01"})
    page = response.content.decode()
    assert response.status_code == 200 and len(response.context["page"].object_list) == 1
    assert 'aria-describedby="from-error"' in page and "From (2026-12-02) is after To (2026-12-01)" in page
    bad = viewer_client.get(URL, {"to": "not a date"}).content.decode()
    assert 'id="to-error"' in bad and "is not a date" in bad


def test_clear_filters_and_the_empty_result(viewer_client, tenant):
    assert "No calls to Visma in the last" in viewer_client.get(URL).content.decode()
    calls(tenant, [5])
    assert "data-clear-filters" not in viewer_client.get(URL).content.decode()
    page = viewer_client.get(URL, {"status": "5xx", "sort": "duration"}).content.decode()
    assert '<a class="small" href="/tenants/api-calls/?sort=duration" data-clear-filters>Clear filters</a>' in page
    assert "No calls match these filters — <a" in page


def test_a_fixed_number_of_queries(client, superuser, tenant, django_assert_max_num_queries):
    calls(tenant, range(150))
    client.force_login(superuser)
    for params in ({}, {"page": 2}, {"sort": "duration"}, {"status": "failures", "tenant": tenant.pk}):
        with django_assert_max_num_queries(6):  # session, user, roles, tenants, count, the page
            assert client.get(URL, params).status_code == 200
