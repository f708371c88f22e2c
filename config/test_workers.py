"""What each pytest-xdist worker needs for itself (the database name is suffixed per worker by pytest-django)."""

from __future__ import annotations

from collections.abc import MutableMapping
from urllib.parse import urlsplit

FIRST = "REDIS_URL_OF_THE_FIRST_WORKER"


def redis_url_of_this_worker(environ: MutableMapping[str, str]) -> dict[str, str]:
    """{"REDIS_URL": …} for this worker, or nothing without Redis or xdist.

    Clearing the cache empties a whole Redis database, and the django-q2 queue lives in it too, so workers cannot
    share one: gw0 keeps REDIS_URL's database, the others take the ones below it, leaving out the benchmarks' own
    (BENCH_REDIS_DB, 14): redis://…/15 gives gw0 15, gw1 13, gw2 12. The URL the run started with stays in the
    environment, so asking again (a subprocess importing these settings) gives the same answer."""
    first = environ.setdefault(FIRST, environ.get("REDIS_URL", ""))
    worker = environ.get("PYTEST_XDIST_WORKER", "")
    if not (first and worker):
        return {}
    parts = urlsplit(first)
    first_database = int(parts.path.strip("/") or 0)
    bench = int(environ.get("BENCH_REDIS_DB", "14"))
    databases = [first_database] + [d for d in range(first_database - 1, -1, -1) if d != bench]
    index = int(worker.removeprefix("gw"))
    if index >= len(databases):
        raise ValueError(f"REDIS_URL's database leaves none for pytest-xdist worker {worker}: end REDIS_URL in /15")
    return {"REDIS_URL": parts._replace(path=f"/{databases[index]}").geturl()}
