"""`manage.py visma_sandbox` with the flags that make it stricter than the portal expects."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import requests

from sandbox.seed import DEMO_CLIENT_ID, SCOPE_READ, SCOPE_WRITE, TENANT_FULL
from tests.listener import Listener
from tests.sandbox.orders_client import wait_for

SECRET = "cmd-secret"


@contextlib.contextmanager
def sandbox_command(*flags: str):
    """Run the command on a free port; yields (base URL, banner lines) once it is listening."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "VISMA_SANDBOX_CLIENT_SECRET": SECRET,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "PYTHONUNBUFFERED": "1",
        "PATH": "",
    }
    command = [sys.executable, "manage.py", "visma_sandbox", "--port", str(port), "--customers", "3", *flags]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        banner = []
        while not banner or "client secret" not in banner[-1]:
            line = process.stdout.readline()
            assert line, f"the command stopped: {banner}"
            banner.append(line.strip())
        yield banner[0].split()[3], banner
    finally:
        process.terminate()
        process.communicate(timeout=10)


def get_token(base: str, **kwargs) -> str:
    data = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": SECRET}
    data.update({"scope": SCOPE_READ, "tenant_id": TENANT_FULL})
    return requests.post(f"{base}/connect/token", data=data, timeout=5, **kwargs).json()["access_token"]


def test_tls_max_page_size_silent_page_cap_and_clock_offset_flags():
    """One run for all four flags: the command takes seconds to start."""
    flags = ["--tls", "--max-page-size", "100", "--silent-page-cap", "2", "--clock-offset", "-172800"]
    with sandbox_command(*flags) as (base, banner):
        assert base.startswith("https://127.0.0.1:")
        ca_path = next(line.split()[2] for line in banner if line.startswith("CA certificate"))
        assert "max pageSize   100" in banner and "clock offset   -172800 s" in banner
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{base}/_sandbox/health", timeout=5)
        headers = {"Authorization": f"Bearer {get_token(base, verify=ca_path)}"}
        url = f"{base}/api/v3/Customers"
        page = requests.get(url, params={"pageSize": 100}, headers=headers, verify=ca_path, timeout=5)
        assert "silent cap     2 customers per page" in banner
        assert len(page.json()["value"]) == 2 and page.json()["nextPage"]
        refused = requests.get(url, params={"pageSize": 101}, headers=headers, verify=ca_path, timeout=5)
        assert refused.status_code == 400
        assert refused.json()["errors"] == {"pageSize": ["The field pageSize must be between 1 and 100."]}
        two_days_ago = datetime.now(UTC) - timedelta(days=2)
        assert abs(parsedate_to_datetime(refused.headers["Date"]) - two_days_ago) < timedelta(hours=1)


def test_lifecycle_and_webhook_url_flags():
    with (
        Listener() as listening,
        sandbox_command("--lifecycle", "0.2", "--webhook-url", listening.url) as (base, banner),
    ):
        assert "lifecycle      Open -> Shipping -> Completed, 0.2 s each" in banner
        assert f"webhooks to    {listening.url}" in banner
        data = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": SECRET}
        data.update({"scope": f"{SCOPE_READ} {SCOPE_WRITE}", "tenant_id": TENANT_FULL})
        token = requests.post(f"{base}/connect/token", data=data, timeout=5).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        order = {"type": "SO", "customer": {"id": "10000"}}
        assert requests.post(f"{base}/api/v3/SalesOrders", json=order, headers=headers, timeout=5).status_code == 201
        assert wait_for(lambda: len(listening.received) == 3)
        events = [json.loads(request["body"])["event"] for request in listening.received]
        assert events == ["SALESORDER_CREATED", "SALESORDER_UPDATED", "SALESORDER_UPDATED"]
        read = requests.get(f"{base}/api/v3/SalesOrders/SO/000001", headers=headers, timeout=5).json()
        assert read["status"]["description"] == "Completed"
