"""Options that make the sandbox behave as Visma may where its documents are silent, stricter than the portal's
guesses: each off by default."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox import clock
from sandbox.server import SandboxServer
from tests.sandbox.orders_client import SO1, call, control, create, etag, read
from tests.sandbox.test_sandbox import SECRET

LIST = "/api/v3/SalesOrders"


@pytest.fixture(scope="module")
def running():
    with SandboxServer(client_secret=SECRET, customers=3) as sandbox:
        yield sandbox


@pytest.fixture
def server(running):
    running.state.reset()
    return running


def test_last_modified_in_local_time_without_a_zone(server):
    create(server)
    utc = read(server)["lastModified"]
    assert utc.endswith("Z")
    server.state.local_time_hours = 2.0
    local = read(server)["lastModified"]
    listed = read(server, LIST)["value"][0]["lastModified"]
    assert local == listed and not local.endswith("Z") and "+" not in local and len(local) == 27
    assert datetime.fromisoformat(local) - datetime.fromisoformat(utc[:-1]) == timedelta(hours=2)
    assert [row["orderId"] for row in read(server, LIST, modifiedSince=utc)["value"]] == ["000001"]  # UTC inside
    server.state.reset()
    create(server)
    assert server.state.local_time_hours is None and read(server)["lastModified"].endswith("Z")


def test_written_times_keep_seven_decimals():
    assert clock.written("2026-11-30T23:30:00.1234567Z", 1.5) == "2026-12-01T01:00:00.1234567"
    assert clock.written("2026-11-30T23:30:00.1234567Z", None) == "2026-11-30T23:30:00.1234567Z"
    assert datetime.fromisoformat(clock.written("2026-11-30T23:30:00Z", -5)).replace(tzinfo=UTC).hour == 18


def test_the_order_read_alone_writes_it_the_same_way(server):
    create(server)
    server.state.local_time_hours = -3.0
    assert read(server, SO1)["lastModified"] == read(server, LIST)["value"][0]["lastModified"]


def test_a_no_etag_fault_answers_without_the_new_version_but_does_the_work(server):
    create(server)
    version = etag(server)
    server.state.set_faults([{"method": "PATCH", "path": SO1, "kind": "no_etag", "times": 1}])
    answer = call(server, "PATCH", SO1, {"If-Match": version}, json={"description": "changed"})
    assert answer.status_code == 202 and "etag" not in {name.lower() for name in answer.headers}
    assert read(server)["description"] == "changed" and etag(server) != version


def test_an_order_deleted_in_visma_is_gone_from_reads_and_lists(server):
    create(server)
    create(server)
    assert control(server, "SO/000001", {"delete": True, "lines": []}).status_code == 400
    answer = control(server, "SO/000001", {"delete": True})
    assert answer.status_code == 200 and answer.json()["order"]["deleted"] is True
    assert call(server, "GET", SO1).status_code == 404 and call(server, "GET", f"{SO1}/lines").status_code == 404
    assert [row["orderId"] for row in read(server, LIST)["value"]] == ["000002"]
    assert control(server, "SO/000001", {"delete": True}).status_code == 404
    create(server)
    assert [row["orderId"] for row in read(server, LIST)["value"]] == ["000002", "000003"]  # never used again


def test_an_order_may_be_in_a_status_the_api_never_sets_and_then_takes_no_change(server):
    create(server)
    assert control(server, "SO/000001", {"status": "PendingApproval"}).status_code == 200
    assert read(server)["status"]["description"] == "PendingApproval"
    assert read(server, LIST)["value"][0]["status"] == "PendingApproval"
    answer = call(server, "PATCH", SO1, {"If-Match": etag(server)}, json={"description": "x"})
    assert answer.status_code == 400 and "PendingApproval" in answer.text
    answer = call(server, "POST", f"{SO1}/lines", json={"lines": [{"inventoryId": "STOCK-100", "quantity": 1}]})
    assert answer.status_code == 400
    assert control(server, "SO/000001", {"status": "Paused"}).status_code == 400
