"""Orders move through Visma's statuses on their own (lifecycle) or by the control endpoint; lists filter and sort
by status and last change, and the silent page cap applies to them too."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox import clock, schema
from sandbox.server import SandboxServer
from tests.sandbox.orders_client import SO1, call, control, create, etag, lines, read, wait_for
from tests.sandbox.test_sandbox import SECRET

EXTRA = "0e1d2c3b-4a59-4687-9a8b-7c6d5e4f3a2b"
LIST = "/api/v3/SalesOrders"


@pytest.fixture(scope="module")
def running():
    with SandboxServer(client_secret=SECRET, customers=6, extra_tenants=(EXTRA,)) as sandbox:
        yield sandbox


@pytest.fixture
def server(running):
    running.state.reset()
    return running


def status_of(server, path: str = SO1) -> str:
    return read(server, path)["status"]["description"]


# --- lifecycle ----------------------------------------------------------------------------------------------------
def test_the_lifecycle_moves_open_orders_to_shipping_then_completed():
    with SandboxServer(client_secret=SECRET, customers=3, lifecycle=0.2) as moving:
        create(moving)
        versions = {etag(moving)}
        assert status_of(moving) == "Open"
        assert wait_for(lambda: status_of(moving) == "Shipping")
        versions.add(etag(moving))
        assert wait_for(lambda: status_of(moving) == "Completed")
        versions.add(etag(moving))
        assert len(versions) == 3
        order = read(moving)
        assert order["status"] == {"description": "Completed", "cancelled": False, "hold": False}
        assert order["totals"]["unshippedAmount"] == 0 and lines(moving)[0]["openQuantity"] == 0
        assert clock.parse_ticks(order["lastModified"]) > clock.parse_ticks(order["date"])
        time.sleep(0.3)
        assert status_of(moving) == "Completed"


def test_orders_on_hold_wait_until_they_are_released():
    with SandboxServer(client_secret=SECRET, customers=3, lifecycle=0.2) as moving:
        create(moving, status="Hold")
        time.sleep(0.5)
        assert status_of(moving) == "Hold"
        assert call(moving, "PATCH", SO1, {"If-Match": etag(moving)}, json={"status": "Open"}).status_code == 202
        assert wait_for(lambda: status_of(moving) == "Shipping")


def test_a_cancelled_order_stays_cancelled():
    with SandboxServer(client_secret=SECRET, customers=3, lifecycle=0.2) as moving:
        create(moving)
        call(moving, "PATCH", SO1, {"If-Match": etag(moving)}, json={"status": "Cancelled"})
        time.sleep(0.5)
        assert read(moving)["status"] == {"description": "Cancelled", "cancelled": True, "hold": False}


def test_reset_cancels_the_lifecycle_and_restores_the_setting(server):
    assert server.state.lifecycle is None
    server.state.lifecycle = 0.2
    create(server)
    server.state.reset()
    assert server.state.lifecycle is None
    create(server)
    tag = etag(server)
    time.sleep(0.5)
    assert status_of(server) == "Open" and etag(server) == tag


# --- control endpoint ---------------------------------------------------------------------------------------------
def test_the_control_endpoint_moves_an_order_and_edits_its_lines(server):
    create(
        server, orderLines=[{"inventoryId": "STOCK-100", "quantity": 1}, {"inventoryId": "STOCK-200", "quantity": 2}]
    )
    tag = etag(server)
    answer = control(server, "SO/000001", {"status": "Shipping"})
    assert answer.status_code == 200 and answer.json()["order"]["status"] == "Shipping"
    assert status_of(server) == "Shipping" and etag(server) != tag
    edit = {
        "lines": [{"lineId": 1, "quantity": 3, "unitPrice": 10}, {"inventoryId": "FREIGHT", "quantity": 1}],
        "description": "Packed by the warehouse",
    }
    changed = control(server, "SO/000001", edit).json()["order"]
    assert changed["etag"] == etag(server) and changed["version"] == read(server)["version"]
    assert control(server, "SO/000001", {"delete_lines": [2]}).status_code == 200
    rows = lines(server)
    assert [(r["lineId"], r["inventory"]["id"], r["quantity"], r["unitPrice"]) for r in rows] == [
        (1, "STOCK-100", 3.0, 10.0),
        (3, "FREIGHT", 1.0, 0.0),
    ]
    assert read(server)["description"] == "Packed by the warehouse"


def test_the_control_list_shows_status_version_and_lines(server):
    create(server)
    [order] = requests.get(f"{server.base_url}/_sandbox/orders", timeout=5).json()["orders"]
    assert order["status"] == "Open" and f'"{order["version"]}"' == order["etag"] == etag(server)
    assert order["lines"][0]["lineId"] == 1 and order["body"]["customer"]["id"] == "10000"


@pytest.mark.parametrize(
    ("order", "body", "status"),
    [
        ("SO/999999", {"status": "Hold"}, 404),
        ("SO/000001", {"status": "Paused"}, 400),
        ("SO/000001", {"colour": "red"}, 400),
        ("SO/000001", {}, 400),
        ("SO/000001", [], 400),
        ("SO/000001", {"lines": [{"lineId": 9, "quantity": 1}]}, 400),
        ("SO/000001", {"lines": [{"inventoryId": "NOPE", "quantity": 1}]}, 400),
        ("SO/000001", {"lines": [{"lineId": 1, "quantity": "many"}]}, 400),
        ("SO/000001", {"delete_lines": [5]}, 400),
        ("SO/000001", {"status": "Hold", "tenant": EXTRA}, 404),
    ],
)
def test_the_control_endpoint_refuses_what_it_cannot_do(server, order, body, status):
    create(server)
    tag = etag(server)
    answer = control(server, order, body)
    assert answer.status_code == status and answer.json()["error"]
    assert etag(server) == tag


def test_the_control_endpoint_needs_the_tenant_when_two_have_the_number(server):
    create(server)
    create(server, tenant=EXTRA)
    assert control(server, "SO/000001", {"status": "Hold"}).status_code == 400
    assert control(server, "SO/000001", {"status": "Hold", "tenant": EXTRA}).status_code == 200
    assert status_of(server) == "Open"
    assert call(server, "GET", SO1, tenant=EXTRA).json()["status"]["description"] == "Hold"


# --- lists --------------------------------------------------------------------------------------------------------
def ids(server, path: str = LIST, **params) -> list[str]:
    body = read(server, path, **params)
    assert not schema.response_errors("SalesOrderListDtoPagedResult", body)
    return [row["orderId"] for row in body["value"]]


def test_lists_show_and_filter_by_visma_status_words(server):
    for _ in range(4):
        create(server)
    control(server, "SO/000002", {"status": "Hold"})
    control(server, "SO/000003", {"status": "Cancelled"})
    control(server, "SO/000004", {"status": "BackOrder"})
    rows = read(server, LIST)["value"]
    assert [row["status"] for row in rows] == ["Open", "Hold", "Cancelled", "BackOrder"]
    assert ids(server, status="Hold") == ["000002"] and ids(server, f"{LIST}/SO", status="Open") == ["000001"]
    assert ids(server, status="Completed") == [] and ids(server, f"{LIST}/QT", status="Hold") == []


def test_modified_since_compares_to_the_tick(server):
    create(server)
    first = read(server)["lastModified"]
    create(server)
    assert ids(server, modifiedSince=first) == ["000001", "000002"]
    one_tick_later = clock.format_ticks(clock.parse_ticks(first) + 1)
    assert ids(server, modifiedSince=one_tick_later) == ["000002"]
    whole_second = first[:19]  # a client that drops the fraction sees the order again
    assert ids(server, modifiedSince=whole_second) == ["000001", "000002"]
    bad = call(server, "GET", LIST, params={"modifiedSince": "yesterday"})
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["modifiedSince"]


def test_order_by_last_modified_follows_changes_and_created_does_not(server):
    for _ in range(3):
        create(server)
    call(server, "PATCH", SO1, {"If-Match": etag(server)}, json={"description": "changed last"})
    assert (
        ids(server, orderBy="lastModified") == ids(server, orderBy="lastModified asc") == ["000002", "000003", "000001"]
    )
    assert ids(server, orderBy="lastModified desc") == ["000001", "000003", "000002"]
    assert ids(server, orderBy="created asc") == ["000001", "000002", "000003"]
    assert ids(server, orderBy="created desc") == ["000003", "000002", "000001"]
    since = read(server)["lastModified"]
    assert ids(server, modifiedSince=since, orderBy="lastModified asc") == ["000001"]


def test_the_silent_page_cap_applies_to_sales_order_lists():
    with SandboxServer(client_secret=SECRET, customers=3, silent_page_cap=2) as capped:
        for _ in range(5):
            create(capped)
        for path in (LIST, f"{LIST}/SO"):
            first = read(capped, path, pageSize=4)
            assert [row["orderId"] for row in first["value"]] == ["000001", "000002"]
            assert first["totalCount"] == 5 and "pageIndex=1" in first["nextPage"]
            second = read(capped, path, pageSize=4, pageIndex=1)
            assert [row["orderId"] for row in second["value"]] == ["000005"] and second["nextPage"] is None
        small = read(capped, LIST, pageSize=2, pageIndex=1)
        assert [row["orderId"] for row in small["value"]] == ["000003", "000004"] and small["nextPage"]


def test_by_default_a_sales_order_page_holds_fewer_orders_than_the_portal_asks_for():
    """Visma documents no maximum page size: the sandbox's default (500) is below the portal's 1,000, so a client
    that assumes it was served what it asked for skips orders, and one that follows what it is served reads all."""
    with (
        SandboxServer(client_secret=SECRET, customers=3) as default,
        SandboxServer(client_secret=SECRET, customers=3, orders_page_cap=None) as uncapped,
    ):
        for server in (default, uncapped):
            server.state.orders_page_cap = 2 if server is default else None  # the default's rule on a small scale
            for _ in range(3):
                create(server)
        first = read(default, LIST, pageSize=3)
        assert len(first["value"]) == 2 and first["totalCount"] == 3 and first["nextPage"]
        assert len(read(uncapped, LIST, pageSize=3)["value"]) == 3
    assert SandboxServer.__init__.__kwdefaults__["orders_page_cap"] == 500
