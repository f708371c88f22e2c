"""Start the whole portal locally: Visma sandbox, background worker and web server, until Ctrl-C."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from core.demo import load_demo_data

DEMO_USERNAME = "demo"
# In the demo, Visma (the sandbox) ships each open order after this many seconds and completes it after as many again,
# telling the portal through its webhook, so the orders list shows Visma's status moving.
DEMO_LIFECYCLE_SECONDS = 180


class Command(BaseCommand):
    help = "Run the sandbox, a django-q2 cluster and the web server together, printing a demo login."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="Web server port (default 8000).")
        parser.add_argument("--sandbox-port", type=int, default=8765, help="Visma sandbox port (default 8765).")

    def handle(self, *args: Any, port: int, sandbox_port: int, **options: Any) -> None:
        password = self._reset_demo_user()
        summary = load_demo_data(sandbox_url=f"http://127.0.0.1:{sandbox_port}")
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        children = [
            subprocess.Popen(  # noqa: S603
                [*manage, "visma_sandbox", "--port", str(sandbox_port), "--lifecycle", str(DEMO_LIFECYCLE_SECONDS)]
            ),
            subprocess.Popen([*manage, "qcluster"]),  # noqa: S603
            subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "--access-logfile",
                    "-",
                    "--logger-class",
                    "core.access_log.ScrubbedLogger",
                ]
            ),
        ]
        stopping = False

        def stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            urls = (f"http://127.0.0.1:{port}/login/", f"http://127.0.0.1:{sandbox_port}/_sandbox/health")
            if all(self._wait_until_up(url, children) for url in urls):
                summary.append(self._subscribe_webhooks(port, sandbox_port))
                self._banner(port, sandbox_port, password, summary)
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.5)
            if not stopping:
                self.stderr.write(self.style.ERROR("A component stopped unexpectedly; shutting the rest down."))
        finally:
            self.stdout.write("Stopping sandbox, worker and web server…")
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            self.stdout.write("Stopped.")

    def _subscribe_webhooks(self, port: int, sandbox_port: int) -> str:
        """What a user does in the Visma Developer Portal: subscribe the portal's webhook URL to order events. Told to
        the sandbox through its control endpoint, so the URL's token never shows on a command line."""
        from tenants.demo import sandbox_application

        application = sandbox_application()
        if application is None:
            return "Webhooks                not subscribed (no demo application)"
        url = f"http://127.0.0.1:{port}/webhooks/visma/{application.webhook_token}/"
        request = urllib.request.Request(
            f"http://127.0.0.1:{sandbox_port}/_sandbox/webhooks",
            data=json.dumps({"url": url}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - our own loopback sandbox
            pass
        minutes = DEMO_LIFECYCLE_SECONDS // 60
        return f"Visma's order statuses   the sandbox ships open orders after {minutes} min and tells the portal"

    def _reset_demo_user(self) -> str:
        """A fresh password on every start, printed once, so nobody has to remember the last one."""
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password

    def _wait_until_up(self, url: str, children: list[subprocess.Popen], seconds: float = 30) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in children):
                return False
            try:
                with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback server
                    return True
            except OSError:
                time.sleep(0.3)
        return False

    def _banner(self, port: int, sandbox_port: int, password: str, summary: list[str]) -> None:
        line = "=" * 72
        out = [
            line,
            f"  Visma order portal      http://127.0.0.1:{port}/",
            f"  Log in as               {DEMO_USERNAME}",
            f"  Password (this run)     {password}",
            f"  Visma sandbox           http://127.0.0.1:{sandbox_port}/ (stands in for Visma Connect + API)",
            f"  Admin                   http://127.0.0.1:{port}/admin/",
            *[f"  {item}" for item in summary],
            "  Stop everything with Ctrl-C.",
            line,
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(out)))
