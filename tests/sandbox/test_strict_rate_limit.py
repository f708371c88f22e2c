"""The sandbox can be stricter about its rate limit than Visma documents, as older Visma APIs were."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox.server import SandboxServer

SECRET = "strict-sandbox-secret"


@pytest.fixture
def strict():
    strictness = {"rate_reset_epoch": True, "rate_penalty": 30, "lowercase_headers": True}
    with SandboxServer(client_secret=SECRET, rate_limit=2, rate_window=60, **strictness) as server:
        yield server


def token(server) -> str:
    from sandbox import seed

    answer = requests.post(
        server.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": seed.DEMO_CLIENT_ID,
            "client_secret": SECRET,
            "scope": seed.SCOPE_READ,
            "tenant_id": seed.TENANT_FULL,
        },
        timeout=5,
    )
    return answer.json()["access_token"]


def test_reset_as_a_unix_time_lower_case_names_and_a_penalty_for_requests_into_a_spent_window(strict):
    headers = {"Authorization": f"Bearer {token(strict)}"}
    url = strict.api_url + "/api/v3/Customers"
    answers = [requests.get(url, headers=headers, timeout=5) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 429, 429]
    raw_names = [name for name, _ in answers[0].raw.headers.items()]
    assert "x-ratelimit-remaining" in raw_names and "X-RateLimit-Remaining" not in raw_names
    first_reset = int(answers[0].headers["x-ratelimit-reset"])
    assert time.time() < first_reset <= time.time() + 61
    assert int(answers[3].headers["x-ratelimit-reset"]) >= first_reset + 59  # two requests into it: 2 x 30 s more
