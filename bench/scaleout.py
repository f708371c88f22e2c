"""Scale-out: the soak (bench/soak.py: 1,000 orders over HTTPS, ~30% faults, Visma down once) on PostgreSQL + Redis
with two clusters started as separate hosts (process groups, 2 workers each) sharing the Redis broker; the second
host gets SIGKILL twice and is started again. Reports duplicates, unfinished and lost orders (all must be 0).

PostgreSQL and Redis: the portal's DATABASE_URL and REDIS_URL where they name them, else BENCH_POSTGRES_URL and
BENCH_REDIS_URL, else the local servers CI uses. The soak runs in a database of its own on that server and in Redis
database BENCH_REDIS_DB (14). Skipped loudly when either is unreachable.
"""

from __future__ import annotations

import os
import sys

from bench import soak
from bench.setup import is_postgres, portal_services

HOSTS = 2
KILLS = 2
LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def services() -> tuple[str, str]:
    database, broker = portal_services()
    database = database if is_postgres(database) else os.environ.get("BENCH_POSTGRES_URL", LOCAL_POSTGRES)
    broker = broker or os.environ.get("BENCH_REDIS_URL", LOCAL_REDIS)
    return database, broker


def unreachable(database: str, broker: str) -> str | None:
    """Why the soak cannot run here, or None."""
    import psycopg
    import redis

    from bench.setup import libpq_url

    try:
        psycopg.connect(libpq_url(database), connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL at {_without_password(database)} ({str(exc).strip().splitlines()[0]})"
    try:
        redis.Redis.from_url(broker, socket_timeout=3).ping()
    except redis.RedisError as exc:
        return f"no Redis at {_without_password(broker)} ({exc})"
    return None


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)


def main() -> list[tuple[str, str]]:
    database, broker = services()
    title = f"scale-out soak, PostgreSQL + Redis, {HOSTS} hosts"
    if reason := unreachable(database, broker):
        banner = "#" * 78
        print(f"{banner}\n#  SKIPPED: {title}: {reason}\n{banner}", file=sys.stderr, flush=True)
        return [(title, f"SKIPPED: {reason}")]
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = database, broker
    result = soak.run(
        faults=soak.FAULTS, kills=KILLS, label="scaleout", outage=soak.OUTAGE_SECONDS, tls=True, hosts=HOSTS
    )
    name = (
        f"{title} ({soak.ENVIRONMENT['Q_WORKERS']} workers each), {result.orders:,} orders over HTTPS, ~30% faults, "
        f"{result.kills} SIGKILLs of host {HOSTS}, Visma down once"
    )
    return soak.report(result, name, "scale-out soak")


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<60} {value}")
