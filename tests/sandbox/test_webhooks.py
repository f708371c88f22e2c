"""Webhook notifications for orders created and changed, delivered to a small HTTP server on loopback."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from sandbox import clock
from sandbox.seed import TENANT_FULL
from sandbox.server import SandboxServer
from tests.listener import Listener
from tests.sandbox.orders_client import SO1, call, control, create, etag, read, wait_for
from tests.sandbox.test_sandbox import SECRET

LINES = f"{SO1}/lines"


@pytest.fixture(scope="module")
def running():
    with SandboxServer(client_secret=SECRET, customers=3) as sandbox:
        yield sandbox


@pytest.fixture
def server(running):
    running.state.reset()
    yield running
    running.state.reset()


@pytest.fixture
def receiver():
    with Listener(status=202) as listening:
        yield listening


def configure(server, **settings) -> requests.Response:
    return requests.post(f"{server.base_url}/_sandbox/webhooks", json=settings, timeout=5)


def received(receiver: Listener) -> list[dict]:
    return [json.loads(request["body"]) for request in list(receiver.received)]


def deliveries(server) -> list[dict]:
    return requests.get(f"{server.base_url}/_sandbox/webhooks", timeout=5).json()["deliveries"]


def test_every_order_created_or_changed_is_notified(server, receiver):
    assert configure(server, url=receiver.url).json()["url"] == receiver.url
    create(
        server, orderLines=[{"inventoryId": "STOCK-100", "quantity": 1}, {"inventoryId": "STOCK-200", "quantity": 1}]
    )
    call(server, "PATCH", SO1, {"If-Match": etag(server)}, json={"description": "changed"})
    call(server, "POST", LINES, json={"lines": [{"inventoryId": "FREIGHT", "quantity": 1}]})
    call(server, "PATCH", LINES, {"If-Match": etag(server)}, json={"lines": [{"lineId": 1, "quantity": 2}]})
    call(server, "DELETE", LINES, {"If-Match": etag(server)}, params={"ids": "2"})
    control(server, "SO/000001", {"status": "Shipping"})
    assert wait_for(lambda: len(receiver.received) == 6)
    notes = received(receiver)
    assert [n["event"] for n in notes] == ["SALESORDER_CREATED"] + ["SALESORDER_UPDATED"] * 5
    for note in notes:
        assert set(note) == {"id", "publisher", "event", "tenantId", "timestamp", "data"}
        assert note["publisher"] == "visma.net.erp.salesorderservice" and note["tenantId"] == TENANT_FULL
        assert note["data"] == {"type": "SO", "orderId": "000001"}
    assert len({n["id"] for n in notes}) == 6
    assert notes[-1]["timestamp"] == read(server)["lastModified"]
    ticks = [clock.parse_ticks(n["timestamp"]) for n in notes]
    assert ticks == sorted(ticks)
    assert all(r["headers"]["Content-Type"].startswith("application/json") for r in receiver.received)
    log = deliveries(server)
    assert [entry["status"] for entry in log] == [202] * 6 and log[0]["body"] == notes[0]
    assert all(entry["url"] == receiver.url and entry["error"] is None and entry["at"] for entry in log)


def test_lifecycle_moves_are_notified_to_the_configured_url():
    with (
        Listener() as listening,
        SandboxServer(client_secret=SECRET, customers=3, lifecycle=0.1, webhook_url=listening.url) as moving,
    ):
        create(moving)
        assert wait_for(lambda: len(listening.received) == 3)
        assert [n["event"] for n in received(listening)] == ["SALESORDER_CREATED", *["SALESORDER_UPDATED"] * 2]
        assert read(moving)["status"]["description"] == "Completed"


def test_a_delay_holds_each_delivery_back_but_never_the_api_answer(server, receiver):
    configure(server, url=receiver.url, delay=0.6)
    started = time.monotonic()
    create(server)
    assert receiver.received == []  # answered first: the delivery waits on its own thread
    assert wait_for(lambda: len(receiver.received) == 1)
    assert time.monotonic() - started >= 0.6


def test_duplicates_repeat_each_notification_with_the_same_id(server, receiver):
    configure(server, url=receiver.url, duplicates=2)
    create(server)
    control(server, "SO/000001", {"description": "again"})
    assert wait_for(lambda: len(receiver.received) == 6)
    notes = received(receiver)
    assert len({n["id"] for n in notes}) == 2
    assert [n["event"] for n in notes] == ["SALESORDER_CREATED"] * 3 + ["SALESORDER_UPDATED"] * 3


def test_reorder_shuffles_deliveries_pending_at_the_same_time(server, receiver):
    configure(server, url=receiver.url, delay=1.0, reorder=True)
    create(server)
    for number in range(7):
        control(server, "SO/000001", {"description": f"change {number}"})
    assert wait_for(lambda: len(receiver.received) == 8)
    notes = received(receiver)
    in_order = sorted(notes, key=lambda n: clock.parse_ticks(n["timestamp"]))
    assert notes != in_order and {n["id"] for n in notes} == {n["id"] for n in in_order}


def test_failed_deliveries_are_logged_and_the_sandbox_carries_on(server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with Listener(status=500, body={"error": "down"}) as failing:
        configure(server, url=failing.url)
        create(server)
        assert wait_for(lambda: len(deliveries(server)) == 1)
        assert deliveries(server)[0]["status"] == 500
    configure(server, url=f"http://127.0.0.1:{closed_port}/hooks")
    control(server, "SO/000001", {"status": "Hold"})
    assert wait_for(lambda: len(deliveries(server)) == 2)
    failed = deliveries(server)[1]
    assert failed["status"] is None and "refused" in failed["error"].lower()
    assert read(server)["status"]["description"] == "Hold"


def test_reset_drops_pending_deliveries_the_log_and_the_settings(server, receiver):
    configure(server, url=receiver.url, delay=0.4, duplicates=1)
    create(server)
    server.state.reset()
    time.sleep(0.6)
    assert receiver.received == []
    state = requests.get(f"{server.base_url}/_sandbox/webhooks", timeout=5).json()
    assert (state["url"], state["delay"], state["duplicates"], state["reorder"]) == (None, 0.0, 0, False)
    assert state["deliveries"] == [] and state["pending"] == 0


@pytest.mark.parametrize(
    "settings",
    [
        {"delay": -1},
        {"delay": "soon"},
        {"url": "ftp://example.com"},
        {"duplicates": 1.5},
        {"reorder": "yes"},
        {"to": 1},
    ],
)
def test_wrong_settings_are_400_and_change_nothing(server, settings):
    answer = configure(server, **settings)
    assert answer.status_code == 400 and answer.json()["error"]
    assert requests.get(f"{server.base_url}/_sandbox/webhooks", timeout=5).json()["url"] is None
