from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_health_needs_no_login_and_reports_each_check():
    response = Client().get("/health/")
    body = json.loads(response.content)
    assert set(body["checks"]) == {"database", "cache", "cluster"}
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] == "ok"


def test_health_is_503_without_a_cluster_heartbeat():
    response = Client().get("/health/")
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["cluster"] == "no cluster heartbeat"


def test_health_reveals_no_settings():
    text = Client().get("/health/").content.decode()
    assert "SECRET" not in text and "postgres" not in text
