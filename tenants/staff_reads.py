"""How often one person may make the portal read Visma while they wait (Refresh now, a customer's delivery locations).

Such calls go past the rate budget's pacing, which holds back only background work, so without a limit one person,
or a script in their session, could spend Visma's whole window for a tenant, the share kept for submitting orders
included. Each person has VISMA_STAFF_READS_PER_MINUTE such calls a minute.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache


def wait_for(user) -> int | None:
    """Count one read of Visma for `user`; None while they are within the limit, else the seconds until they may
    read again. Nobody logged in (a task, a command) is not counted."""
    if not getattr(user, "is_authenticated", False):
        return None
    now = time.time()
    minute = int(now // 60)
    key = f"staff-reads:{user.pk}:{minute}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count <= settings.VISMA_STAFF_READS_PER_MINUTE:
        return None
    return max(1, math.ceil((minute + 1) * 60 - now))


def refusal(wait: int) -> str:
    return (
        f"You asked the portal to read Visma more than {settings.VISMA_STAFF_READS_PER_MINUTE} times this minute, "
        f"the most one person may (Visma's rate limit is shared with order submission); nothing was asked. Try "
        f"again in {wait} s."
    )
