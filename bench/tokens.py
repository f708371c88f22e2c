"""Token requests per token lifetime with 20 concurrent callers.

20 threads call the API (`GET /api/v3/Inventory`) for the same tenant without pause for 12 seconds. The sandbox
issues tokens for 62 s; the portal refreshes a token 60 s before it expires, so each token is used for 2 s: about 6
token lifetimes. Ideal: one token request per lifetime, however many callers; the sandbox counts them and says when
each came.

Lifetimes are counted as the portal's cache really keeps a token: the database cache rounds an expiry down to a
whole second, so it keeps a 2 s token between 1 and 2 s (Redis keeps it 2 s). A token request that came at least
USE - 1 s after the one before it may have found the cache empty, under either cache, and starts a lifetime; one
that came sooner is a second request for a token the cache still held (two callers asking at once).
"""

from __future__ import annotations

import itertools
import threading
import time

from bench.setup import configure_django, sandbox_process

CALLERS = 20
SECONDS = 12
TOKEN_LIFETIME = 62
REFRESH_MARGIN = 60  # tenants/visma/client.py: max(60, lifetime // 10)
USE = TOKEN_LIFETIME - REFRESH_MARGIN  # seconds the cache keeps a token, at most
ROUNDING = 1.0  # the database cache's expiry is rounded down to a whole second
SECRET = "bench-secret-" + "x" * 20


def main() -> list[tuple[str, str]]:
    configure_django()
    import logging

    from django.db import connection

    from sandbox.seed import DEMO_CLIENT_ID, TENANT_FULL
    from tenants.demo import register_sandbox
    from tenants.visma import VismaClient

    # 20 threads share one process's requests session, whose pool keeps 10 connections per host (workers are
    # processes of one thread each): the extra connections are closed after use, which urllib3 warns about.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    with sandbox_process(SECRET, token_lifetime=TOKEN_LIFETIME) as sandbox:
        tenant = next(t for t in register_sandbox(sandbox.base_url, SECRET) if str(t.tenant_id) == TENANT_FULL)
        calls, errors = [0] * CALLERS, [0] * CALLERS
        stop = time.monotonic() + SECONDS

        def caller(index: int) -> None:
            client = VismaClient(tenant)
            try:
                while time.monotonic() < stop:
                    try:
                        client.get_inventory(page_size=1)
                        calls[index] += 1
                    except Exception:
                        errors[index] += 1
            finally:
                connection.close()

        threads = [threading.Thread(target=caller, args=(i,)) for i in range(CALLERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        times = sandbox.control("GET", "tokens")["token_times"].get(f"{DEMO_CLIENT_ID}:{TENANT_FULL}", [])
    from django.conf import settings

    cache = "Redis" if "redis" in settings.CACHES["default"]["BACKEND"] else "database"
    token_requests = len(times)
    lifetimes = 1 + sum(1 for before, after in itertools.pairwise(times) if after - before >= USE - ROUNDING)
    nominal = SECONDS / USE
    return [
        (
            f"token requests per token lifetime, {CALLERS} concurrent callers ({cache} cache)",
            f"{token_requests / lifetimes:.2f} (ideal 1.00): {token_requests} token requests in {SECONDS} s, "
            f"{lifetimes} lifetimes as the cache kept the tokens ({nominal:.0f} of {USE} s; "
            f"{token_requests / nominal:.2f} per {USE} s), {token_requests - lifetimes} while the cache held one; "
            f"{sum(calls):,} API calls, {sum(errors)} errors",
        )
    ]


if __name__ == "__main__":
    for name, value in main():
        print(f"{name:<60} {value}")
