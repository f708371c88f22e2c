"""Run the Visma sandbox in the foreground until Ctrl-C."""

from __future__ import annotations

import json
import os
import secrets
import signal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sandbox import seed
from sandbox.server import SandboxServer
from sandbox.state import DEFAULT_MAX_PAGE_SIZE, SALES_ORDER_PAGE_CAP


class Command(BaseCommand):
    help = "Start a local stand-in for Visma Connect and the Sales Order API v3 (for demos and tests)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--customers", type=int, default=40, help="Customers per tenant (default 40).")
        parser.add_argument("--token-lifetime", type=int, default=seed.DEFAULT_TOKEN_LIFETIME)
        parser.add_argument("--rate-limit", type=int, default=1000, help="Requests per client+tenant per window.")
        parser.add_argument("--rate-window", type=int, default=3600, help="Rate-limit window in seconds.")
        parser.add_argument(
            "--max-page-size", type=int, default=DEFAULT_MAX_PAGE_SIZE, help="Largest pageSize a list accepts."
        )
        parser.add_argument(
            "--silent-page-cap",
            type=int,
            metavar="N",
            help="Serve at most N customers or sales orders per page without a 400, from pageIndex * pageSize on.",
        )
        parser.add_argument(
            "--orders-page-cap",
            type=int,
            metavar="N",
            default=SALES_ORDER_PAGE_CAP,
            help=f"Serve at most N sales orders a list page, without a 400 (default {SALES_ORDER_PAGE_CAP}; 0: none).",
        )
        parser.add_argument(
            "--clock-offset", type=float, default=0.0, help="Shift the sandbox's clock by this many seconds."
        )
        parser.add_argument(
            "--latency",
            help="Seconds before every API answer, or JSON per request, e.g. '{\"POST /api/v3/SalesOrders\": 0.2}'.",
        )
        parser.add_argument(
            "--extra-tenant",
            action="append",
            default=[],
            metavar="ID",
            help="Another tenant that approved reading and writing (repeatable).",
        )
        parser.add_argument(
            "--rate-reset-epoch", action="store_true", help="Send X-RateLimit-Reset as a Unix time, not seconds."
        )
        parser.add_argument(
            "--rate-penalty",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="Each request sent into a spent window pushes the window's end back this much.",
        )
        parser.add_argument(
            "--lowercase-headers", action="store_true", help="Rate-limit and ETag headers in lower case."
        )
        parser.add_argument(
            "--lifecycle",
            type=float,
            metavar="SECONDS",
            help="Open orders become Shipping after SECONDS, then Completed after as many again (default: never).",
        )
        parser.add_argument(
            "--webhook-url", metavar="URL", help="POST a notification here for every order created or changed."
        )
        parser.add_argument(
            "--local-time-hours",
            type=float,
            metavar="HOURS",
            help="Write lastModified in the local time this many hours east of UTC, without a zone designator.",
        )
        parser.add_argument("--tls", action="store_true", help="Serve HTTPS with a throwaway certificate authority.")
        parser.add_argument("--faults", help="Fault plan: inline JSON list or a path to a JSON file.")
        parser.add_argument("--state", help="Keep customers and orders in this JSON file across restarts.")

    def handle(self, *args: Any, **options: Any) -> None:
        secret = os.environ.get("VISMA_SANDBOX_CLIENT_SECRET") or secrets.token_urlsafe(24)
        try:
            server = SandboxServer(
                options["host"],
                options["port"],
                client_secret=secret,
                customers=options["customers"],
                token_lifetime=options["token_lifetime"],
                rate_limit=options["rate_limit"],
                rate_window=options["rate_window"],
                max_page_size=options["max_page_size"],
                clock_offset=options["clock_offset"],
                silent_page_cap=options["silent_page_cap"],
                orders_page_cap=options["orders_page_cap"] or None,
                latency=self._latency(options["latency"]),
                extra_tenants=tuple(options["extra_tenant"]),
                rate_reset_epoch=options["rate_reset_epoch"],
                rate_penalty=options["rate_penalty"],
                lowercase_headers=options["lowercase_headers"],
                lifecycle=options["lifecycle"],
                webhook_url=options["webhook_url"],
                local_time_hours=options["local_time_hours"],
                faults=self._faults(options["faults"]),
                state_file=options["state"],
                tls=options["tls"],
                quiet=options["verbosity"] < 2,
            )
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc.strerror}") from None
        except ValueError as exc:
            raise CommandError(f"Bad --faults, --latency or --webhook-url: {exc}") from None
        self.stdout.write(
            f"Visma sandbox on {server.base_url}  (token URL {server.token_url}, API URL {server.api_url})"
        )
        if server.ca_path:
            self.stdout.write(f"  CA certificate {server.ca_path}   (trust it, e.g. REQUESTS_CA_BUNDLE; gone on stop)")
        self.stdout.write(f"  max pageSize   {server.state.max_page_size}")
        if server.state.silent_page_cap:
            self.stdout.write(f"  silent cap     {server.state.silent_page_cap} customers per page")
        if caps := [cap for cap in (server.state.silent_page_cap, server.state.orders_page_cap) if cap]:
            self.stdout.write(f"  silent cap     {min(caps)} sales orders per page")
        if server.state.lifecycle is not None:
            self.stdout.write(f"  lifecycle      Open -> Shipping -> Completed, {server.state.lifecycle:g} s each")
        if server.state.webhook_url:
            self.stdout.write(f"  webhooks to    {server.state.webhook_url}")
        if server.state.latency:
            self.stdout.write(f"  latency        {json.dumps(server.state.latency)} s")
        for tenant_id in server.state.extra_tenants:
            self.stdout.write(f"  extra tenant   {tenant_id}")
        if server.state.clock_offset:
            self.stdout.write(f"  clock offset   {server.state.clock_offset:+g} s")
        self.stdout.write(f"  client ID      {seed.DEMO_CLIENT_ID}")
        self.stdout.write(f"  client secret  {secret}   (sandbox only)")
        for tenant_id, (name, approved, scopes) in seed.TENANTS.items():
            scope_text = ", ".join(s.rsplit(":", 1)[1] for s in scopes) or "none"
            self.stdout.write(
                f"  tenant {tenant_id}  {name}: {'approved' if approved else 'NOT approved'}, scopes {scope_text}"
            )
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
            self.stdout.write("Visma sandbox stopped.")

    def _faults(self, value: str | None) -> list | None:
        if not value:
            return None
        text = Path(value).read_text() if Path(value).is_file() else value
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--faults is neither a JSON list nor a readable JSON file: {exc}") from None

    def _latency(self, value: str | None) -> float | dict:
        """A number of seconds, or a JSON object of seconds per "[METHOD ]/path"; checked by the sandbox."""
        if not value:
            return 0.0
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--latency is neither a number nor a JSON object: {exc}") from None
        if not isinstance(parsed, dict):
            raise CommandError("--latency is neither a number nor a JSON object")
        return parsed
