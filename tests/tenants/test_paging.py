from __future__ import annotations

from itertools import pairwise

import pytest

from tenants import paging, sync
from tenants.customer_models import Customer, CustomerSync
from tenants.inventory import item_suggestions
from tenants.visma import CustomerPage, ServerError, ValidationRejected, VismaClient

pytestmark = pytest.mark.django_db

REFUSED_TITLE = "Visma rejected the request: One or more validation errors occurred."


@pytest.fixture
def capped(sandbox):
    """The sandbox, with its page size limits put back after the test whatever the test set."""
    limits = sandbox.state.max_page_size, sandbox.state.silent_page_cap
    yield sandbox
    sandbox.state.max_page_size, sandbox.state.silent_page_cap = limits


@pytest.fixture
def asked(monkeypatch) -> list[tuple[int, int]]:
    """(pageIndex, pageSize) of every Customers request, in order."""
    requests: list[tuple[int, int]] = []
    get_customers = VismaClient.get_customers

    def recording(client, page_index, page_size, **kwargs):
        requests.append((page_index, page_size))
        return get_customers(client, page_index, page_size, **kwargs)

    monkeypatch.setattr(VismaClient, "get_customers", recording)
    return requests


def run(tenant, **kwargs) -> CustomerSync:
    started = sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, enqueue=False)
    return sync.run_sync(started.pk, **kwargs)


def add_customers(sandbox, tenant, count: int) -> int:
    """Adds `count` customers to the tenant in the sandbox; returns how many it has now."""
    tenant_id = str(tenant.tenant_id)
    for number in range(count):
        sandbox.state.add_customer(tenant_id, id=f"{30000 + number}", name=f"Sidekunde {number}")
    return len(sandbox.state.customers(tenant_id))


def add_items(sandbox, count: int) -> int:
    for number in range(count):
        item = {"description": f"Item {number}", "baseUnit": "PCS", "taxCategoryId": "HIGH", "itemType": "StockItem"}
        sandbox.state.inventory[f"EXTRA-{number:04d}"] = item
    return len(sandbox.state.inventory)


def refused_requests(sandbox, path: str) -> int:
    return sum(1 for entry in sandbox.state.request_log() if entry["path"] == path and entry["status"] == 400)


def answered_requests(sandbox, path: str) -> int:
    return sum(1 for entry in sandbox.state.request_log() if entry["path"] == path and entry["status"] == 200)


# --- the paging rules ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("start", [1000, 2000, 900, 700, 10_000, 100])
def test_each_smaller_size_divides_the_one_before_and_the_last_is_100(start):
    ladder = [start]
    while (next_size := paging.smaller(ladder[-1])) is not None:
        ladder.append(next_size)
    assert ladder[-1] == 100
    assert all(bigger % smaller == 0 and smaller >= 100 for bigger, smaller in pairwise(ladder))


def test_1000_falls_back_to_500_then_100_and_nothing_is_smaller_than_100():
    assert (paging.smaller(1000), paging.smaller(500), paging.smaller(100), paging.smaller(7)) == (500, 100, None, None)


def test_the_first_size_is_a_multiple_of_100_or_the_remembered_size_per_tenant_and_endpoint():
    assert paging.first_size(1, paging.CUSTOMERS, 1000) == 1000
    assert paging.first_size(1, paging.CUSTOMERS, 250) == 200
    assert paging.first_size(1, paging.CUSTOMERS, 7) == 7
    paging.remember(1, paging.CUSTOMERS, 500)
    assert paging.first_size(1, paging.CUSTOMERS, 1000) == 500
    assert paging.first_size(1, paging.CUSTOMERS, 200) == 200
    assert paging.first_size(2, paging.CUSTOMERS, 1000) == 1000
    assert paging.first_size(1, paging.INVENTORY, 1000) == 1000


def test_the_note_names_refused_sizes_and_pages_served_smaller_than_asked():
    assert paging.note([], 1000) == ""
    assert paging.note([1000, 500], 100) == "Visma refused pages of 1,000 and 500; used 100."
    assert (
        paging.note([], 100, [(1000, 100)])
        == "Visma served 100 customers per page although 1,000 were asked; used 100."
    )
    assert paging.note([1000], 100, [(500, 100)]) == (
        "Visma refused pages of 1,000 and served 100 customers per page although 500 were asked; used 100."
    )


@pytest.mark.parametrize(
    "exc",
    [
        ValidationRejected(REFUSED_TITLE, field_errors={"pageSize": ["The field pageSize must be between 1 and 100."]}),
        ValidationRejected(REFUSED_TITLE, field_errors={"PageIndex": ["Out of range."]}),
        ValidationRejected("Visma rejected the request: The page size may be at most 500."),
        ValidationRejected(REFUSED_TITLE, field_errors={"$": ["pageSize is too large."]}),
    ],
)
def test_a_400_about_paging_is_a_refusal(exc):
    assert paging.is_refusal(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValidationRejected(REFUSED_TITLE, field_errors={"orderLines[0].inventoryId": ["InventoryId cannot be found."]}),
        ServerError("Visma answered HTTP 500: pageSize"),
    ],
)
def test_other_errors_are_not_refusals(exc):
    assert not paging.is_refusal(exc)


# --- customer sync ------------------------------------------------------------------------------------------------
def test_sync_under_a_cap_of_100_falls_back_to_100_and_gets_every_customer(settings, capped, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 1000
    total = add_customers(capped, tenant, 210)
    capped.state.max_page_size = 100
    result = run(tenant)
    assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
    assert result.fetched == result.created == total == Customer.objects.filter(tenant=tenant).count()
    assert result.pages == 3
    assert result.note == "Visma refused pages of 1,000 and 500; used 100."
    assert result.error == ""


def test_sync_under_a_cap_of_500_uses_500(settings, capped, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 1000
    total = add_customers(capped, tenant, 1210)
    capped.state.max_page_size = 500
    result = run(tenant)
    assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
    assert result.fetched == result.created == total == Customer.objects.filter(tenant=tenant).count()
    assert result.pages == 3
    assert result.note == "Visma refused pages of 1,000; used 500."
    assert refused_requests(capped, "/api/v3/Customers") == 1


def test_the_size_that_worked_is_remembered_so_the_next_sync_is_not_refused(settings, capped, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 1000
    total = add_customers(capped, tenant, 1210)
    capped.state.max_page_size = 500
    run(tenant)
    refused_before = refused_requests(capped, "/api/v3/Customers")
    again = run(tenant)
    assert again.outcome == CustomerSync.Outcome.SUCCEEDED, again.error
    assert again.fetched == total and again.pages == 3
    assert again.note == again.error == ""
    assert refused_requests(capped, "/api/v3/Customers") == refused_before


def test_a_refusal_mid_sync_goes_on_from_the_same_customer_with_smaller_pages(settings, capped, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 200
    total = add_customers(capped, tenant, 960)

    def lower_the_cap(progress: CustomerSync) -> None:
        capped.state.max_page_size = 100  # the helper is at most three pages ahead: page 5 or an earlier one is refused

    result = run(tenant, on_page=lower_the_cap)
    assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
    assert result.fetched == result.created == total == Customer.objects.filter(tenant=tenant).count()
    assert result.note == "Visma refused pages of 200; used 100."


def test_a_refusal_of_pages_of_100_fails_the_sync_with_vismas_message(settings, capped, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 1000
    capped.state.max_page_size = 50
    result = run(tenant)
    assert result.outcome == CustomerSync.Outcome.FAILED
    assert "The field pageSize must be between 1 and 50." in result.error
    assert "Stopped at page 1 after 0 customers" in result.error
    assert result.error.endswith(" Visma refused pages of 1,000, 500 and 100.")  # the note explains the failure
    assert result.note == "Visma refused pages of 1,000, 500 and 100."
    assert paging.first_size(tenant.pk, paging.CUSTOMERS, 1000) == 1000  # nothing worked, so nothing is remembered


def test_pages_cut_short_without_a_400_lose_no_customer_and_the_size_served_is_remembered(
    settings, capped, tenant, asked
):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 1000
    total = add_customers(capped, tenant, 210)
    assert total == 250
    assert run(tenant).fetched == total  # every customer known, so a skipped one would be marked removed
    capped.state.silent_page_cap = 100  # from pageIndex * 1,000: asking page 1 of 1,000 would skip 100 customers
    asked.clear()
    result = run(tenant)
    assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
    assert result.fetched == total and result.pages == 3
    assert result.removed == 0 and not Customer.objects.filter(tenant=tenant, removed_at__isnull=False).exists()
    assert result.note == "Visma served 100 customers per page although 1,000 were asked; used 100."
    assert result.error == ""
    assert asked == [(0, 1000), (1, 100), (2, 100)]
    asked.clear()
    again = run(tenant)
    assert again.outcome == CustomerSync.Outcome.SUCCEEDED, again.error
    assert asked == [(0, 100), (1, 100), (2, 100)]
    assert again.fetched == total and again.removed == 0 and again.note == ""


def test_a_first_sync_under_a_silent_cap_gets_every_customer(settings, capped, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 1000
    total = add_customers(capped, tenant, 210)
    capped.state.silent_page_cap = 100
    result = run(tenant)
    assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
    assert result.fetched == result.created == total == Customer.objects.filter(tenant=tenant).count()
    assert paging.first_size(tenant.pk, paging.CUSTOMERS, 1000) == 100


def test_a_silent_cap_that_starts_mid_sync_loses_no_customer(settings, capped, tenant):
    settings.CUSTOMER_SYNC_PAGE_SIZE = 200
    total = add_customers(capped, tenant, 920)
    run(tenant)

    def lower_the_cap(progress: CustomerSync) -> None:
        capped.state.silent_page_cap = 100  # the helper is ahead: some later page is the first one cut short

    result = run(tenant, on_page=lower_the_cap)
    assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
    assert result.removed == 0 and not Customer.objects.filter(tenant=tenant, removed_at__isnull=False).exists()
    assert result.fetched == total
    assert result.note == "Visma served 100 customers per page although 200 were asked; used 100."


def test_a_visma_counting_page_index_in_pages_served_loses_no_customer_either(settings, sandbox, tenant, monkeypatch):
    """The other reading of a cap: the offset is pageIndex times the size served, and the cap starts at page 2."""
    settings.CUSTOMER_SYNC_PAGE_SIZE = 200
    total = add_customers(sandbox, tenant, 960)
    run(tenant)
    customers = sorted(sandbox.state.customers(str(tenant.tenant_id)), key=lambda c: c["id"])

    def lenient(client, page_index, page_size, **kwargs):
        served = page_size if page_index < 2 else min(page_size, 100)
        end = (page_index + 1) * served
        link = f"https://elsewhere.example/api/v3/Customers?pageIndex={page_index + 1}" if end < total else None
        return CustomerPage(customers[page_index * served : end], link, total, None, "")

    monkeypatch.setattr(VismaClient, "get_customers", lenient)
    result = run(tenant)
    assert result.outcome == CustomerSync.Outcome.SUCCEEDED, result.error
    assert result.removed == 0 and not Customer.objects.filter(tenant=tenant, removed_at__isnull=False).exists()
    assert result.fetched == total


# --- item suggestions ---------------------------------------------------------------------------------------------
def test_item_suggestions_read_several_pages_under_a_cap_and_remember_the_size(capped, tenant):
    total = add_items(capped, 235)
    capped.state.max_page_size = 100
    items, problem = item_suggestions(tenant)
    assert problem == ""
    assert len(items) == total == 250
    assert {"id": "EXTRA-0234", "description": "Item 234"} in items
    assert answered_requests(capped, "/api/v3/Inventory") == 3
    assert paging.first_size(tenant.pk, paging.INVENTORY, 1000) == 100


def test_item_suggestions_end_where_visma_says_the_page_index_is_past_the_end(capped, tenant):
    add_items(capped, 185)
    capped.state.max_page_size = 100
    items, problem = item_suggestions(tenant)
    assert problem == ""
    assert len(items) == 200


def test_item_suggestions_stop_at_1000_items(capped, tenant):
    add_items(capped, 1200)
    capped.state.max_page_size = 500
    items, problem = item_suggestions(tenant)
    assert problem == ""
    assert len(items) == 1000
    assert answered_requests(capped, "/api/v3/Inventory") == 2


def test_item_suggestions_explain_a_refusal_of_pages_of_100(capped, tenant):
    capped.state.max_page_size = 50
    items, problem = item_suggestions(tenant)
    assert items == []
    assert problem.startswith("Item suggestions are unavailable:")
    assert "The field pageSize must be between 1 and 50." in problem
