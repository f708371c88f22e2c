"""How often one person may make the portal read Visma while they wait (Refresh now, a customer's delivery locations).

Such calls go past the rate budget's pacing, which holds back only background work, so without a limit one person,
or a script in their session, could spend Visma's whole window for a tenant, the share kept for submitting orders
included. Each person has VISMA_STAFF_READS_PER_MINUTE such calls a minute.
"""

from __future__ import annotations

from django.conf import settings

from core import per_minute


def wait_for(user) -> int | None:
    """Count one read of Visma for `user`; None while they are within the limit, else the seconds until they may
    read again. Nobody logged in (a task, a command) is not counted."""
    if not getattr(user, "is_authenticated", False):
        return None
    reads, seconds_left = per_minute.count(f"staff-reads:{user.pk}")
    return None if reads <= settings.VISMA_STAFF_READS_PER_MINUTE else seconds_left


def refusal(wait: int) -> str:
    return (
        f"You asked the portal to read Visma more than {settings.VISMA_STAFF_READS_PER_MINUTE} times this minute, "
        f"the most one person may (Visma's rate limit is shared with order submission); nothing was asked. Try "
        f"again in {wait} s."
    )
