"""The benchmark harness's choices that need no cluster: which database and Redis it uses, and the paced ideal."""

from __future__ import annotations

import pytest

from bench import ratelimit
from bench.setup import is_postgres, own_database, portal_services


@pytest.fixture
def no_services(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENV_FILE", str(tmp_path / "missing.env"))
    return tmp_path


def test_the_environment_wins_over_the_env_file_as_in_the_portal(no_services, monkeypatch):
    env_file = no_services / "portal.env"
    env_file.write_text("# a comment\nDATABASE_URL='postgres://u@db:5432/portal'\nexport REDIS_URL=redis://r:6379/0\n")
    monkeypatch.setenv("ENV_FILE", str(env_file))
    assert portal_services() == ("postgres://u@db:5432/portal", "redis://r:6379/0")
    monkeypatch.setenv("REDIS_URL", "")
    assert portal_services() == ("postgres://u@db:5432/portal", "")


def test_without_settings_there_is_neither(no_services):
    assert portal_services() == ("", "")


@pytest.mark.parametrize("url", ["", "sqlite:///db.sqlite3", "sqlite:////srv/portal/db.sqlite3"])
def test_sqlite_or_nothing_gives_a_file_of_the_benchmarks_own(url, tmp_path):
    assert not is_postgres(url)
    assert own_database(url, tmp_path) == f"sqlite:///{tmp_path / 'bench.sqlite3'}"


@pytest.mark.parametrize("url", ["postgres://x@h/test", "postgresql://x@h/test", "pgsql://x@h/test"])
def test_postgres_spellings_are_recognised(url):
    assert is_postgres(url)


def test_the_paced_ideal_sends_each_windows_share_at_its_start():
    per_post = 0.01
    assert ratelimit.paced_ideal(50, per_post) == pytest.approx(2 * 20 + 50 * per_post / 2)
    assert ratelimit.paced_ideal(45, per_post) == pytest.approx(3 * 20 + 15 * per_post / 2)
