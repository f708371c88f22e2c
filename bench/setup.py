"""Shared set-up for benchmarks: a throw-away database, Django configured, the sandbox in its own process."""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def configure_django(settings_module: str = "config.settings_test", **environment: str) -> Path:
    """Point Django at a fresh database file in a temporary folder and migrate it.

    The environment is left set, so subprocesses (a qcluster) started afterwards share the database and keys. The
    folder (database, cluster logs) is removed when the process ends, unless BENCH_KEEP_FILES is set.
    """
    folder = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    if not os.environ.get("BENCH_KEEP_FILES"):
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}")
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["FIELD_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    os.environ.update(environment)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return folder


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms, p95 {percentile(values, 0.95) * 1000:.1f} ms"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sandbox:
    """Addresses of a sandbox process, and its control endpoints (for benchmarks only)."""

    def __init__(self, port: int):
        self.base_url = self.api_url = f"http://127.0.0.1:{port}"
        self.token_url = f"{self.base_url}/connect/token"

    def control(self, method: str, name: str, body=None) -> dict:
        import requests

        return requests.request(method, f"{self.base_url}/_sandbox/{name}", json=body, timeout=30).json()


@contextlib.contextmanager
def sandbox_process(secret: str, *, customers: int = 40, token_lifetime: int | None = None):
    """The sandbox in its own process, as Visma is: client and server do not share one interpreter."""
    import requests

    port = free_port()
    env = {**os.environ, "VISMA_SANDBOX_CLIENT_SECRET": secret}
    command = [sys.executable, "manage.py", "visma_sandbox", "--port", str(port), "--customers", str(customers)]
    command += ["--rate-limit", str(10**9)]
    if token_lifetime:
        command += ["--token-lifetime", str(token_lifetime)]
    log = Path(tempfile.mkstemp(prefix="portal-bench-sandbox-", suffix=".log")[1])
    with log.open("wb") as out:  # a faulted request's broken pipe prints a traceback there
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield Sandbox(port)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if not os.environ.get("BENCH_KEEP_FILES"):
            log.unlink(missing_ok=True)
