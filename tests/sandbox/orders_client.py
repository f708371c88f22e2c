"""Helpers for tests of the sandbox's order endpoints: calls with extra headers, orders to change, waiting."""

from __future__ import annotations

import time

import requests

from sandbox.seed import TENANT_FULL
from tests.sandbox.test_sandbox import BOTH, ORDER, auth

SO1 = "/api/v3/SalesOrders/SO/000001"


def call(server, method: str, path: str, headers: dict | None = None, tenant=TENANT_FULL, scope=BOTH, **kwargs):
    all_headers = {**auth(server, tenant, scope), **(headers or {})}
    return requests.request(method, server.api_url + path, headers=all_headers, timeout=5, **kwargs)


def create(server, tenant=TENANT_FULL, **changes) -> requests.Response:
    response = call(server, "POST", "/api/v3/SalesOrders", json={**ORDER, **changes}, tenant=tenant)
    assert response.status_code == 201, response.text
    return response


def etag(server, path: str = SO1) -> str:
    response = call(server, "GET", path)
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


def read(server, path: str = SO1, **params) -> dict:
    response = call(server, "GET", path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def lines(server, path: str = SO1) -> list[dict]:
    return read(server, f"{path}/lines")["value"]


def control(server, order: str, body) -> requests.Response:
    return requests.post(f"{server.base_url}/_sandbox/orders/{order}", json=body, timeout=5)


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
