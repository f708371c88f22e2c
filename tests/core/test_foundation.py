from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.test import Client
from django.urls import path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_tests_cannot_reach_any_host_but_loopback():
    from pytest_socket import SocketConnectBlockedError

    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("192.0.2.1", 443), timeout=1)


def test_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["ENV_FILE"] = ""  # a local .env (make run writes one) would supply a key
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def crash(request):
    raise RuntimeError("boom")


urlpatterns = [path("crash/", crash)]


@pytest.mark.django_db
@pytest.mark.urls("tests.core.test_foundation")
def test_a_crash_shows_the_friendly_500_page(viewer):
    client = Client(raise_request_exception=False)
    client.force_login(viewer)
    response = client.get("/crash/")
    assert response.status_code == 500
    assert b"Nothing you entered has been lost" in response.content
    assert b"boom" not in response.content


def test_dotenv_writes_fresh_keys_once(tmp_path, monkeypatch):
    from config import dotenv

    target = tmp_path / ".env"
    monkeypatch.setattr(dotenv, "ENV_FILE", target)
    dotenv.main()
    first = target.read_text()
    assert "SECRET_KEY=" in first and "FIELD_ENCRYPTION_KEY=" in first
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    dotenv.main()
    assert target.read_text() == first
    assert dotenv.local_env() != first


def test_dotenv_gives_an_older_env_file_the_demos_plain_http_settings(tmp_path, monkeypatch):
    from config import dotenv

    target = tmp_path / ".env"
    target.write_text("SECRET_KEY=kept\n")
    monkeypatch.setattr(dotenv, "ENV_FILE", target)
    dotenv.main()
    dotenv.main()
    text = target.read_text()
    assert text.startswith("SECRET_KEY=kept\n")
    assert text.count("SECURE_SSL_REDIRECT=False") == 1 and "SECURE_HSTS_SECONDS=0" in text
    assert text.count("VISMA_ALLOW_LOOPBACK=True") == 1  # the sandbox is on loopback


def test_dotenv_lets_an_https_ready_env_file_reach_the_sandbox(tmp_path, monkeypatch):
    from config import dotenv

    target = tmp_path / ".env"
    target.write_text("SECRET_KEY=kept\n" + "\n".join(dotenv.PLAIN_HTTP) + "\n")
    monkeypatch.setattr(dotenv, "ENV_FILE", target)
    dotenv.main()
    text = target.read_text()
    assert text.count("VISMA_ALLOW_LOOPBACK=True") == 1 and text.count("SECURE_SSL_REDIRECT=False") == 1


def demo_env(tmp_path) -> dict[str, str]:
    """The environment `make run` gives the demo: a fresh .env (plain HTTP, DEBUG off)."""
    from config import dotenv

    written = dict(line.split("=", 1) for line in dotenv.local_env().splitlines() if line and line[0] != "#")
    return {
        **os.environ,
        **written,
        "ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    }


@pytest.mark.cluster  # run_demo starts a django-q2 cluster beside the web server and the sandbox
def test_demo_runner_starts_everything_prints_a_login_and_stops_on_ctrl_c(tmp_path):
    web, sandbox = free_port(), free_port()
    env = demo_env(tmp_path)
    env.pop("DEBUG", None)
    for step in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):  # as `make run` does
        subprocess.run([sys.executable, "manage.py", *step], cwd=ROOT, env=env, check=True)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_demo", "--port", str(web), "--sandbox-port", str(sandbox)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "Stop everything" in line or not line:
                break
        password = next(line.split()[-1] for line in lines if "Password (this run)" in line)
        session = requests.Session()
        login = session.get(f"http://127.0.0.1:{web}/login/", timeout=10)
        csrf = session.cookies["csrftoken"]
        response = session.post(
            f"http://127.0.0.1:{web}/login/",
            data={"username": "demo", "password": password, "csrfmiddlewaretoken": csrf},
            headers={"Referer": login.url},
            timeout=10,
        )
        assert "Dashboard" in response.text
        assert requests.get(f"http://127.0.0.1:{sandbox}/_sandbox/health", timeout=5).ok
        subscribed = requests.get(f"http://127.0.0.1:{sandbox}/_sandbox/webhooks", timeout=5).json()
        assert subscribed["url"].startswith(f"http://127.0.0.1:{web}/webhooks/visma/")
        assert not any(subscribed["url"] in line for line in lines)  # the token is not printed
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Stopped." in rest
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{web}/login/", timeout=2)
