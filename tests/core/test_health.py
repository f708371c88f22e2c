from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from core.schedules import SWEEPER
from orders.apps import ensure_sweeper_schedule

pytestmark = pytest.mark.django_db


def test_health_needs_no_login_and_reports_each_check():
    response = Client().get("/health/")
    body = json.loads(response.content)
    assert set(body["checks"]) == {"database", "cache", "cluster", "sweeper"}
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] == "ok"


def test_health_is_503_without_a_cluster_heartbeat():
    response = Client().get("/health/")
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["cluster"] == "no cluster heartbeat"


def test_health_reveals_no_settings():
    text = Client().get("/health/").content.decode()
    assert "SECRET" not in text and "postgres" not in text


@pytest.mark.cluster
@pytest.mark.django_db(transaction=True)
def test_health_is_200_while_a_real_cluster_sends_heartbeats():
    root = Path(__file__).resolve().parents[2]
    database = connection.settings_dict["NAME"]
    if connection.vendor != "sqlite":
        pytest.skip("the cluster subprocess shares the SQLite test database file; other legs cover the broker")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "DATABASE_URL": f"sqlite:///{database}"}
    ensure_sweeper_schedule()
    Schedule.objects.filter(name=SWEEPER).update(next_run=timezone.now())  # due now, not left over from setup
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        response = Client().get("/health/")
        while response.status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
            response = Client().get("/health/")
        body = json.loads(response.content)
        assert response.status_code == 200, body
        checks = {"database": "ok", "cache": "ok", "cluster": "ok", "sweeper": "ok"}
        assert body == {"status": "ok", "checks": checks, "queued_tasks": 0}
    finally:
        cluster.terminate()
        cluster.wait(timeout=30)
