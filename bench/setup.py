"""Shared set-up for benchmarks: a throw-away database, Django configured, the sandbox in its own process."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_CA = "sandbox-ca.pem"  # in the benchmark's folder: the CA of a sandbox serving HTTPS, which the portal trusts


def configure_django(
    settings_module: str = "config.settings_test", *, sandbox_tls: bool = False, **environment: str
) -> Path:
    """Point Django at a fresh database of its own and migrate it: a file in a temporary folder, or, where the
    portal's DATABASE_URL is PostgreSQL, a database `bench_<pid>` on that server, dropped at the end. Where the
    portal's REDIS_URL is set, Redis database BENCH_REDIS_DB (14) on that server is the broker and cache, flushed
    before and after.

    The environment is left set, so subprocesses (a qcluster) started afterwards share the database and keys. The
    folder (database, cluster logs) is removed when the process ends, unless BENCH_KEEP_FILES is set. The sandbox
    listens on loopback, which the portal only talks to with VISMA_ALLOW_LOOPBACK on, whatever the settings module.
    `sandbox_tls`: the portal trusts the CA that `sandbox_process(tls=True)` copies into the folder.
    """
    folder = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    if not os.environ.get("BENCH_KEEP_FILES"):
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    database_url, redis_url = portal_services()
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ["DATABASE_URL"] = own_database(database_url, folder)
    os.environ["REDIS_URL"] = own_redis_db(redis_url) if redis_url else ""
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["FIELD_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    os.environ["VISMA_ALLOW_LOOPBACK"] = "True"
    if sandbox_tls:
        os.environ["VISMA_CA_BUNDLE"] = str(folder / SANDBOX_CA)
    else:
        os.environ.pop("VISMA_CA_BUNDLE", None)
    os.environ.update(environment)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return folder


def portal_services() -> tuple[str, str]:
    """The DATABASE_URL and REDIS_URL the portal would use here: the environment's, else its .env file's."""
    env_file = os.environ.get("ENV_FILE", str(ROOT / ".env"))
    from_file = _env_file_values(Path(env_file)) if env_file and Path(env_file).is_file() else {}
    return tuple(os.environ.get(name, from_file.get(name, "")) for name in ("DATABASE_URL", "REDIS_URL"))


def _env_file_values(path: Path) -> dict[str, str]:
    """NAME=value lines of a .env file (quotes removed), as config.settings reads them."""
    values = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and not name.startswith("#"):
            values[name.strip()] = value.strip().strip("'\"")
    return values


def is_postgres(url: str) -> bool:
    return url.split(":", 1)[0] in ("postgres", "postgresql", "pgsql", "postgis")


def own_database(url: str, folder: Path) -> str:
    """The URL of a database only this benchmark uses: a SQLite file in `folder` unless `url` is PostgreSQL."""
    if not is_postgres(url):
        return f"sqlite:///{folder / 'bench.sqlite3'}"
    import psycopg

    parts = urlsplit(url)
    name = f"bench_{os.getpid()}"
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(libpq_url(server), autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    atexit.register(_drop_database, server, name)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop_database(server: str, name: str) -> None:
    import psycopg

    with contextlib.suppress(Exception):
        from django.db import connections

        connections.close_all()
    with psycopg.connect(libpq_url(server), autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq_url(url: str) -> str:
    """psycopg takes postgresql:// but not Django's other spellings of the scheme."""
    return "postgresql:" + url.split(":", 1)[1]


def own_redis_db(url: str) -> str:
    """`url` with Redis database BENCH_REDIS_DB (14 unless set), flushed now and when the process ends."""
    import redis

    own = urlunsplit(urlsplit(url)._replace(path=f"/{os.environ.get('BENCH_REDIS_DB', '14')}"))
    client = redis.Redis.from_url(own, socket_timeout=5)
    client.flushdb()
    atexit.register(lambda: client.flushdb())
    return own


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
    """Addresses of a sandbox process, and its control endpoints (for benchmarks only). `ca_path`: it serves HTTPS
    with the certificate authority in that file."""

    def __init__(self, port: int, ca_path: str | None = None):
        self.base_url = self.api_url = f"{'https' if ca_path else 'http'}://127.0.0.1:{port}"
        self.token_url = f"{self.base_url}/connect/token"
        self.ca_path = ca_path
        self.verify: str | bool = ca_path or True  # for requests made by the benchmark itself

    def control(self, method: str, name: str, body=None) -> dict:
        import requests

        return requests.request(
            method, f"{self.base_url}/_sandbox/{name}", json=body, timeout=30, verify=self.verify
        ).json()

    def refuse_for(self, seconds: float) -> dict:
        """Visma down: the sandbox stops listening (connections are refused, open ones are cut) and listens again on
        the same port after `seconds`, with its orders, tokens, faults and request log kept."""
        return self.control("POST", "refuse", {"seconds": seconds})


@contextlib.contextmanager
def sandbox_process(
    secret: str,
    *,
    customers: int = 40,
    token_lifetime: int | None = None,
    tls: bool = False,
    latency: float | dict[str, float] = 0.0,
    rate_limit: tuple[int, int] | None = None,
    extra_tenants: tuple[str, ...] = (),
):
    """The sandbox in its own process, as Visma is: client and server do not share one interpreter.

    `latency`: seconds before every API answer, or per "[METHOD ]/path"; `rate_limit`: (requests, window seconds)
    per client and tenant, unlimited if None; `extra_tenants`: more tenant IDs approved for reading and writing.

    `tls`: it serves HTTPS with a certificate authority of its own, copied to where `configure_django(sandbox_tls=True)`
    pointed VISMA_CA_BUNDLE (the sandbox deletes its copy when it stops)."""
    import requests

    port = free_port()
    env = {**os.environ, "VISMA_SANDBOX_CLIENT_SECRET": secret, "PYTHONUNBUFFERED": "1"}  # its banner names the CA
    command = [sys.executable, "manage.py", "visma_sandbox", "--port", str(port), "--customers", str(customers)]
    requests_per_window, window = rate_limit or (10**9, 3600)
    command += ["--rate-limit", str(requests_per_window), "--rate-window", str(window)]
    if latency:
        command += ["--latency", json.dumps(latency)]
    for tenant_id in extra_tenants:
        command += ["--extra-tenant", tenant_id]
    if token_lifetime:
        command += ["--token-lifetime", str(token_lifetime)]
    if tls:
        if not os.environ.get("VISMA_CA_BUNDLE"):
            raise RuntimeError("sandbox_process(tls=True) needs configure_django(sandbox_tls=True) first")
        command.append("--tls")
    log = Path(tempfile.mkstemp(prefix="portal-bench-sandbox-", suffix=".log")[1])
    with log.open("wb") as out:  # a faulted request's broken pipe prints a traceback there
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        sandbox = _wait_for_sandbox(process, port, log, tls)
        if tls:
            shutil.copyfile(sandbox.ca_path, os.environ["VISMA_CA_BUNDLE"])
            sandbox = Sandbox(port, os.environ["VISMA_CA_BUNDLE"])
        requests.get(f"{sandbox.base_url}/_sandbox/health", timeout=5, verify=sandbox.verify).raise_for_status()
        yield sandbox
    finally:
        process.terminate()
        process.wait(timeout=10)
        if not os.environ.get("BENCH_KEEP_FILES"):
            log.unlink(missing_ok=True)


def _wait_for_sandbox(process: subprocess.Popen, port: int, log: Path, tls: bool) -> Sandbox:
    """Once it listens (and, with TLS, has printed where its CA is): the sandbox at `port`."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The sandbox exited with {process.returncode}: {log.read_text(errors='replace')}")
        ca = re.search(r"CA certificate\s+(\S+)", log.read_text(errors="replace")) if tls else None
        if tls and ca is None:
            time.sleep(0.2)
            continue
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return Sandbox(port, ca[1] if ca else None)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"The sandbox did not start within 60 s: {log.read_text(errors='replace')}")
