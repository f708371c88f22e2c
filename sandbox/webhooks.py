"""Webhook notifications for every sales order created or changed, POSTed from one background thread.

The payload is described in the package docstring (sandbox/__init__.py). Settings: `url` (None sends nothing),
`delay` (seconds each delivery waits), `duplicates` (extra deliveries of each notification, same id), `reorder`
(when the first pending delivery is due, every pending one goes out, shuffled). There are no retries; every attempt
is logged with its HTTP status or error. reset() forgets pending deliveries and the log."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid

from . import clock

PUBLISHER = "visma.net.erp.salesorderservice"
TIMEOUT = 5.0
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback receivers, never via a proxy


class Webhooks:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._outbox: list[tuple[float, int, str, dict]] = []  # (due on the monotonic clock, sequence, url, payload)
        self._log: list[dict] = []
        self._sequence = 0
        self._generation = 0  # deliveries started before a reset are not logged after it
        self._thread: threading.Thread | None = None
        self._closed = False
        self.url: str | None = None
        self.delay, self.duplicates, self.reorder = 0.0, 0, False
        self._rng = random.Random(1)

    # --- settings -------------------------------------------------------------------------------------------------
    def reset(self, url: str | None, seed: int) -> None:
        _check_url(url)
        with self._condition:
            self._generation += 1
            self._outbox.clear()
            self._log.clear()
            self.url, self.delay, self.duplicates, self.reorder = url, 0.0, 0, False
            self._rng = random.Random(seed)

    def configure(self, settings: object) -> None:
        """Change some of url, delay, duplicates and reorder; ValueError (and nothing changed) when one is wrong."""
        if not isinstance(settings, dict):
            raise ValueError("send a JSON object with url, delay, duplicates and/or reorder")
        unknown = set(settings) - {"url", "delay", "duplicates", "reorder"}
        if unknown:
            raise ValueError(f"unknown webhook settings: {', '.join(sorted(unknown))}")
        url = settings.get("url", self.url)
        _check_url(url)
        delay = settings.get("delay", self.delay)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 300:
            raise ValueError("delay must be a number of seconds between 0 and 300")
        duplicates = settings.get("duplicates", self.duplicates)
        if isinstance(duplicates, bool) or not isinstance(duplicates, int) or not 0 <= duplicates <= 10:
            raise ValueError("duplicates must be a whole number between 0 and 10")
        reorder = settings.get("reorder", self.reorder)
        if not isinstance(reorder, bool):
            raise ValueError("reorder must be true or false")
        with self._condition:
            self.url, self.delay, self.duplicates, self.reorder = url, float(delay), duplicates, reorder

    def settings(self) -> dict:
        with self._condition:
            return {"url": self.url, "delay": self.delay, "duplicates": self.duplicates, "reorder": self.reorder}

    def deliveries(self) -> list[dict]:
        with self._condition:
            return [dict(entry) for entry in self._log]

    def pending(self) -> int:
        with self._condition:
            return len(self._outbox)

    # --- sending --------------------------------------------------------------------------------------------------
    def notify(self, event: str, order: dict) -> None:
        """Queue one notification about `order` (a stored order) for delivery after `delay` seconds."""
        with self._condition:
            if not self.url or self._closed:
                return
            payload = {
                "id": str(uuid.uuid4()),
                "publisher": PUBLISHER,
                "event": event,
                "tenantId": order["tenant_id"],
                "timestamp": order["lastModified"],
                "data": {"type": order["type"], "orderId": order["orderId"]},
            }
            due = time.monotonic() + self.delay
            for _ in range(1 + self.duplicates):
                self._sequence += 1
                self._outbox.append((due, self._sequence, self.url, payload))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="visma-sandbox-webhooks", daemon=True)
                self._thread.start()
            self._condition.notify()

    def cancel(self) -> None:
        """Drop every pending delivery."""
        with self._condition:
            self._generation += 1
            self._outbox.clear()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._outbox.clear()
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                batch = self._next_batch()
                if batch is None:
                    return
                generation = self._generation
            for _due, _sequence, url, payload in batch:
                self._deliver(url, payload, generation)

    def _next_batch(self) -> list | None:
        """Wait (holding the condition) until a delivery is due; None once closed."""
        while not self._closed:
            now = time.monotonic()
            due = sorted(entry for entry in self._outbox if entry[0] <= now)
            if due:
                if self.reorder:
                    due = list(self._outbox)
                    self._rng.shuffle(due)
                taken = {entry[1] for entry in due}
                self._outbox = [entry for entry in self._outbox if entry[1] not in taken]
                return due
            earliest = min((entry[0] for entry in self._outbox), default=None)
            self._condition.wait(None if earliest is None else earliest - now)
        return None

    def _deliver(self, url: str, payload: dict, generation: int) -> None:
        request = urllib.request.Request(  # noqa: S310 (_check_url admits http and https URLs only)
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "visma-sandbox-webhooks"},
            method="POST",
        )
        status, error = None, None
        try:
            with _OPENER.open(request, timeout=TIMEOUT) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, ValueError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        entry = {
            "url": url,
            "status": status,
            "error": error,
            "body": payload,
            "at": clock.format_ticks(clock.now_ticks()),
        }
        with self._condition:
            if generation == self._generation:
                self._log.append(entry)


def _check_url(url: object) -> None:
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        raise ValueError("the webhook url must be an http:// or https:// URL, or null")
