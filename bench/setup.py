"""Shared set-up for benchmarks: a throw-away SQLite database, Django configured, the sandbox running."""

from __future__ import annotations

import os
import secrets
import statistics
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet


def configure_django() -> Path:
    """Point Django at a fresh database file in a temporary folder and migrate it."""
    folder = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}")
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["FIELD_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1"
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
