"""Orders through a real django-q2 cluster (a `manage.py qcluster` subprocess on the suite's SQLite file) while the
sandbox drops connections after creating orders and fails with 500s, and the whole cluster is killed once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import F

from orders import services
from orders.models import SalesOrder, SalesOrderLine
from tenants.models import Customer

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]
State = SalesOrder.State
ORDERS = 30
POST = {"method": "POST", "path": "/api/v3/SalesOrders"}
DEADLINE = 45  # seconds; the run normally takes well under half of it


class Cluster:
    """`manage.py qcluster` with the production settings on the test database, in its own process group."""

    def __init__(self, log_path):
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if connection.vendor == "sqlite":
            database_url = f"sqlite:///{connection.settings_dict['NAME']}"
        else:
            database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "ORDER_BACKOFF_SECONDS": "1",
            "ORDER_MAX_ATTEMPTS": "10",
            "ORDER_RESEND_AFTER_SECONDS": "2",  # scaled down: a lost answer is looked up for 2 s, then resent
            "LOG_LEVEL": "WARNING",
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=django_settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process:
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


@pytest.fixture
def cluster(tmp_path):
    running = Cluster(tmp_path / "qcluster.log")
    yield running
    running.kill()


@pytest.fixture
def orders(tenant):
    customer = Customer.objects.create(tenant=tenant, number="10000", name="Kunde", status="Active")
    created = SalesOrder.objects.bulk_create(
        SalesOrder(tenant=tenant, customer=customer, customer_order=f"CL-{i:03d}") for i in range(ORDERS)
    )
    SalesOrderLine.objects.bulk_create(
        SalesOrderLine(order=order, position=1, inventory_id="STOCK-100", quantity=Decimal(1 + i % 5))
        for i, order in enumerate(created)
    )
    return created


def finished() -> int:
    return SalesOrder.objects.filter(state__in=[State.SUBMITTED, State.FAILED]).count()


def wait_until(condition, deadline: float) -> bool:
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def test_orders_survive_dropped_answers_server_errors_and_a_killed_cluster(
    sandbox, orders, cluster, settings, monkeypatch
):
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)  # the suite runs tasks in-process; here the cluster must run them
    settings.ORDER_BACKOFF_SECONDS = 1
    settings.ORDER_MAX_ATTEMPTS = 10
    settings.ORDER_RESEND_AFTER_SECONDS = 2  # the sweeper below runs in this process
    sandbox.state.set_faults(
        [{**POST, "kind": "accept_then_drop", "probability": 0.25}, {**POST, "kind": "500", "probability": 0.2}]
    )
    deadline = time.monotonic() + DEADLINE
    cluster.start()
    for order in orders:
        assert services.queue(order)

    assert wait_until(lambda: finished() >= ORDERS // 3, deadline), cluster.log()
    cluster.kill()
    # The dead cluster's attempts are orphans now: age them past the sweeper's threshold instead of waiting for it.
    SalesOrder.objects.filter(state=State.SUBMITTING).update(
        attempt_started_at=F("attempt_started_at") - timedelta(hours=1)
    )
    cluster.start()

    broker, last_sweep = get_broker(), [0.0]

    def done() -> bool:
        idle = broker.queue_size() == 0
        if idle and time.monotonic() - last_sweep[0] > 1:  # nothing waiting: do what the one-minute sweeper does
            services.sweep()
            last_sweep[0] = time.monotonic()
        return finished() == ORDERS

    assert wait_until(done, deadline), cluster.log()
    statuses = [r["status"] for r in sandbox.state.request_log() if r["path"] == POST["path"] and r["method"] == "POST"]
    assert None in statuses and 500 in statuses  # both faults really happened
    received = [o["customerRefNo"] for o in sandbox.state.orders()]
    references = {o.reference for o in SalesOrder.objects.all()}
    assert sorted(received) == sorted(references)  # exactly one order in Visma per reference
    assert SalesOrder.objects.filter(state=State.SUBMITTED).count() == ORDERS
    assert not SalesOrder.objects.filter(state__in=[State.QUEUED, State.SUBMITTING]).exists()
