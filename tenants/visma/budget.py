"""Visma's rate limit for one (application, tenant), as its answers report it, shared by every worker on every host.

Visma counts requests per company and client in fixed windows and tells the count on every answer
(`X-RateLimit-Limit`, `-Remaining`, `-Reset`). Background calls (submissions, lookups, customer syncs) leave
`VISMA_RATE_RESERVE` of each window to staff's own calls (Test connection, item suggestions), and once less than half
of the window is left they are spread evenly over the rest of it instead of being fired until Visma answers 429.

While more than half of the window is left, each worker goes by its own last answer (Visma tells every worker the same
count); below that the state lives in the cache, where every worker takes its turn under a short lock.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

SHARED_BELOW = 0.5  # share of the limit left below which workers pace together through the cache
SAME_WINDOW_SECONDS = 2.0  # two answers whose resets lie this close describe the same window
LOCK_SECONDS = 5
WINDOW_MARGIN = 0.5  # seconds after Visma's reset before a held-back call goes: clocks and rounding differ


@dataclass
class Window:
    limit: int
    remaining: int  # what Visma last said, less the calls the portal has let go since
    resets_at: float  # wall-clock time (time.time()) when Visma starts a new window
    next_at: float = 0.0  # earliest time the next paced background call may go
    blocked_until: float = 0.0  # a 429's Retry-After: nothing goes before it, whatever the window says

    def reserve_calls(self) -> int:
        return math.ceil(self.limit * settings.VISMA_RATE_RESERVE)

    def usable(self) -> int:
        """Calls background work may still make in this window."""
        return self.remaining - self.reserve_calls()

    def plentiful(self) -> bool:
        return self.usable() >= self.limit * SHARED_BELOW


_local: dict[str, Window] = {}  # this process's view, used alone while the budget is plentiful
_local_guard = threading.Lock()


class RateBudget:
    """The budget of one (application, tenant) pair, the unit Visma counts by."""

    def __init__(self, application_pk, tenant_id):
        self.key = f"visma-budget:{application_pk}:{tenant_id}"

    # --- what Visma said ------------------------------------------------------------------------------------------
    def observe(self, headers, *, status: int, retry_after: int | None = None) -> None:
        """Take in an answer's rate-limit headers; a 429 empties the window until its `Retry-After`."""
        now = time.time()
        limit = _int(headers.get("X-RateLimit-Limit"))
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        reset = _reset_seconds(headers.get("X-RateLimit-Reset"), now)
        seen = None
        if limit is not None and remaining is not None and reset is not None and limit > 0:
            seen = Window(limit=limit, remaining=min(remaining, limit), resets_at=now + reset)
        if status == 429:
            # Visma has more limits than the window (the same request too often, repeated failures): a 429 stops
            # background calls until its Retry-After, and empties the window only if its headers describe that window.
            with self._lock():
                known = self._current(now)
                merged = _merge(known, seen, now) or known
                if merged is None:
                    limit = limit or 1
                    merged = Window(limit=limit, remaining=limit, resets_at=now + (retry_after or 1))
                merged.blocked_until = max(merged.blocked_until, now + (retry_after or 1))
                self._publish(merged, now)
            return
        if seen is None:
            return
        if seen.plentiful():  # nothing to share: every worker's next answer tells it the same
            self._remember(_merge(self._local_view(now), seen, now))
            return
        with self._lock():
            self._publish(_merge(self._current(now), seen, now), now)

    # --- before a background call ---------------------------------------------------------------------------------
    def take_turn(self, max_wait: float) -> float:
        """Seconds until this background call may go. When that is at most `max_wait` the turn is taken (the caller
        waits, then sends); otherwise nothing is taken and the caller comes back after that many seconds."""
        now = time.time()
        local = self._local_view(now)
        if local is not None and local.plentiful() and local.blocked_until <= now:
            local.remaining -= 1
            return 0.0
        if local is None and self._current(now) is None:  # no answer seen yet, here or by any worker
            return 0.0
        with self._lock():
            state = self._current(now)
            if state is None:  # a new window: its size is known from the next answer
                return 0.0
            if state.blocked_until > now:
                return state.blocked_until - now
            usable = state.usable()
            if usable <= 0:
                return state.resets_at - now + WINDOW_MARGIN
            interval = 0.0 if state.plentiful() else (state.resets_at - now) / usable
            turn = max(now, state.next_at)
            if turn - now > max_wait:
                return turn - now
            state.next_at, state.remaining = turn + interval, state.remaining - 1
            self._publish(state, now)
            return turn - now

    def bulk_read_wait(self) -> float:
        """Seconds until long reads (a full customer sync) may go on: they use only the first half of a window, so
        that order submission always finds the rest."""
        now = time.time()
        state = self._local_view(now)
        if state is None or not state.plentiful():
            state = self._current(now)
        if state is None:
            return 0.0
        if state.blocked_until > now:
            return state.blocked_until - now
        return 0.0 if state.plentiful() else state.resets_at - now + WINDOW_MARGIN

    def snapshot(self) -> Window | None:
        """The budget as this process knows it, for pages that show it; None when no answer told it yet."""
        return self._current(time.time())

    # --- storage --------------------------------------------------------------------------------------------------
    def _local_view(self, now: float) -> Window | None:
        with _local_guard:
            window = _local.get(self.key)
        return window if window is not None and now < window.resets_at else None

    def _remember(self, window: Window | None) -> None:
        if window is not None:
            with _local_guard:
                _local[self.key] = window

    def _current(self, now: float) -> Window | None:
        """The more cautious of the shared and the local view of the current window."""
        shared = cache.get(self.key)
        shared = shared if isinstance(shared, Window) and now < shared.resets_at else None
        return _merge(shared, self._local_view(now), now) if shared else self._local_view(now)

    def _publish(self, window: Window | None, now: float) -> None:
        if window is None:
            return
        cache.set(self.key, window, timeout=max(1, math.ceil(window.resets_at - now) + 5))
        self._remember(window)

    def _lock(self):
        return _CacheLock(f"{self.key}:lock")


class _CacheLock:
    """A short lock shared through the cache; after LOCK_SECONDS without it the caller goes on regardless, since a
    lost turn costs at worst one early call, never a stuck worker."""

    def __init__(self, key: str):
        self.key, self.held = key, False

    def __enter__(self):
        deadline = time.monotonic() + LOCK_SECONDS
        while not (held := cache.add(self.key, "1", timeout=LOCK_SECONDS)) and time.monotonic() < deadline:
            time.sleep(0.005)
        self.held = held
        return self

    def __exit__(self, *exc):
        if self.held:
            cache.delete(self.key)


def _merge(known: Window | None, seen: Window | None, now: float) -> Window | None:
    """One window from two views: in the same window the lower count wins (calls let go since an answer was
    written count too); a later window replaces an earlier one; an answer that ends sooner than the window known
    describes some other limit, or came late, and changes nothing."""
    if known is None or now >= known.resets_at:
        return seen
    if seen is None:
        return known
    if abs(known.resets_at - seen.resets_at) <= SAME_WINDOW_SECONDS:
        return Window(
            limit=seen.limit,
            remaining=min(known.remaining, seen.remaining),
            resets_at=known.resets_at,
            next_at=known.next_at,
            blocked_until=known.blocked_until,
        )
    if seen.resets_at > known.resets_at:
        seen.blocked_until = known.blocked_until
        return seen
    return known


def _reset_seconds(value, now: float) -> float | None:
    """`X-RateLimit-Reset` in seconds from now: Visma sends seconds; older Visma APIs sent a Unix time."""
    seconds = _int(value)
    if seconds is None or seconds < 0:
        return None
    if seconds > 1_000_000_000:
        seconds = seconds - now
    return min(max(seconds, 1), 24 * 3600)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
