"""The sandbox's HTTP server: Visma Connect's token endpoint, the Sales Order API v3 and control endpoints."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import time
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from . import api, control, seed, updates
from . import tls as tls_files
from .state import DEFAULT_MAX_PAGE_SIZE, SALES_ORDER_PAGE_CAP, Fault, SandboxState, parse_latency

CONTROL_NOTE = "control endpoint for tests and demos only"
_ORDER_PATH = re.compile(r"^/api/v3/SalesOrders(?:/(?P<type>[^/]+)(?:/(?P<id>[^/]+)(?P<lines>/lines)?)?)?$")
_LOCATIONS_PATH = re.compile(r"^/api/v3/Customers/(?P<id>[^/]+)/locations$")
_CONTROL_ORDER_PATH = re.compile(r"^/_sandbox/orders/(?P<type>[^/]+)/(?P<id>[^/]+)$")
_JSON_TYPES = ("application/json", "text/json")


# Neither a TLS record (content types are 20-23) nor an HTTP status line.
GARBAGE = b"\x00\x00\x00\x00 sandbox: this is not a TLS record and not HTTP\r\n"


class Dropped(Exception):
    """Close the connection without an answer, or with `garbage` as the only bytes sent."""

    def __init__(self, garbage: bytes = b""):
        super().__init__()
        self.garbage = garbage


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args) -> None:
        if not self.server.sandbox.quiet:
            super().log_message(format, *args)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header, from the sandbox's (possibly shifted) clock."""
        return format_datetime(self.state.now(), usegmt=True)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    # --- plumbing -------------------------------------------------------------------------------------------------
    @property
    def state(self) -> SandboxState:
        return self.server.sandbox.state

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        path, query = unquote(url.path), parse_qs(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        self.raw_body = self.rfile.read(length) if length else b""
        self.request_id = base64.urlsafe_b64encode(secrets.token_bytes(11)).decode()
        self.rate_headers: dict[str, str] = {}
        self.tenant_id: str | None = None
        self.drip: float | None = None
        try:
            if path.startswith("/_sandbox/"):
                status, headers, body = self._control(method, path)
            else:
                fault = self.state.fault_for(method, path)
                status, headers, body = self._with_fault(fault, method, path, query)
        except Dropped as dropped:
            self.state.record({"method": method, "path": path, "status": None, "tenant": self.tenant_id})
            self._drop(dropped.garbage)
        else:
            self.state.record({"method": method, "path": path, "status": status, "tenant": self.tenant_id})
            if not path.startswith("/_sandbox/") and (latency := self.state.latency_for(method, path)):
                time.sleep(latency)  # Visma's own time for the request, after the work is done
            self._send(status, headers, body)

    def _with_fault(self, fault: Fault | None, method: str, path: str, query: dict):
        if fault is None:
            return self._route(method, path, query)
        if fault.kind in ("500", "503"):
            title = "Internal Server Error" if fault.kind == "500" else "Service Unavailable"
            return int(fault.kind), {}, api.problem(int(fault.kind), title, "Injected fault.")
        if fault.kind == "429":
            return self._too_many(fault.retry_after)
        if fault.kind == "reset":
            raise Dropped
        if fault.kind == "expired_token":
            return self._unauthorized("The access token expired.")
        if fault.kind == "malformed_json":
            return 200, {"Content-Type": "application/json"}, b'{"value": [ {"id": "10'
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return self._route(method, path, query)
        if fault.kind == "slow_drip":
            self.drip = fault.delay
            return self._route(method, path, query)
        if fault.kind == "commit_after":
            self.state.later(fault.delay, lambda: self._route(method, path, query))
            raise Dropped
        if fault.kind == "refuse":
            self.server.sandbox.refuse_for(fault.delay)
            raise Dropped
        if fault.kind == "no_etag":  # done and answered, without the new version (Visma's documents promise it)
            status, headers, body = self._route(method, path, query)
            return status, {name: value for name, value in headers.items() if name.lower() != "etag"}, body
        self._route(method, path, query)  # accept_then_drop and tls_garbage: do the work, then no proper answer
        raise Dropped(GARBAGE if fault.kind == "tls_garbage" else b"")

    def _drop(self, garbage: bytes) -> None:
        """Send `garbage` below any TLS and close, or reset the connection (RST) so the client sees no answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            if garbage:
                with socket.socket(fileno=os.dup(self.connection.fileno())) as raw:
                    raw.sendall(garbage)
            else:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _send(self, status: int, headers: dict[str, str], body) -> None:
        payload = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        wire, self.wfile = self.wfile, io.BytesIO()
        self.send_response(status)
        content_type = "application/problem+json" if status >= 400 and body is not None else "application/json"
        rate_headers = self.rate_headers or self._rate_headers(self.state.rate_limit, self.state.rate_window)
        all_headers = {"apigw-requestid": self.request_id, **rate_headers, **headers}
        if payload:
            all_headers.setdefault("Content-Type", f"{content_type}; charset=utf-8")
        all_headers["Content-Length"] = str(len(payload))
        for name, value in all_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        answer, self.wfile = self.wfile.getvalue(), wire
        if self.drip is None:
            wire.write(answer)
            return
        with contextlib.suppress(OSError):  # the client may give up half way
            for index in range(len(answer)):
                if index:
                    time.sleep(self.drip)
                wire.write(answer[index : index + 1])

    # --- routing --------------------------------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict):
        if path == "/connect/token":
            return self._token() if method == "POST" else self._not_allowed()
        if not path.startswith("/api/v3/"):
            return 404, {}, api.problem(404, "Not Found", f"No endpoint at {path}.")
        token = self._authenticate()
        if isinstance(token, tuple):
            return token
        self.tenant_id = token.tenant_id
        allowed, remaining, reset = self.state.take_rate_budget(f"{token.client_id}:{token.tenant_id}")
        self.rate_headers = self._rate_headers(remaining, reset)
        if not allowed:
            return self._too_many(reset)
        needed = seed.SCOPE_READ if method == "GET" else seed.SCOPE_WRITE
        if needed not in token.scopes:
            return 403, {}, api.problem(403, "Forbidden", f"The access token lacks the scope {needed}.")
        base = self.server.sandbox.base_url
        try:
            return self._api(method, path, query, token.tenant_id, base)
        except api.BadRequest as exc:
            return 400, {}, api.validation_problem(exc.errors)

    def _api(self, method: str, path: str, query: dict, tenant_id: str, base: str):
        state = self.state
        if path == "/api/v3/Customers":
            return api.get_customers(state, tenant_id, query, base) if method == "GET" else self._not_allowed()
        if path == "/api/v3/Inventory":
            return api.get_inventory(state, query, base) if method == "GET" else self._not_allowed()
        if located := _LOCATIONS_PATH.match(path):
            if method != "GET":
                return self._not_allowed()
            return api.get_customer_locations(state, tenant_id, located["id"])
        found = _ORDER_PATH.match(path)
        if found is None:
            return 404, {}, api.problem(404, "Not Found", f"No endpoint at {path}.")
        order_type, order_id, lines = found["type"], found["id"], bool(found["lines"])
        if method == "GET":
            if order_id is None:
                return api.list_sales_orders(state, tenant_id, query, base, order_type)
            return api.get_sales_order(state, tenant_id, order_type, order_id, lines, query, base)
        if_match = self.headers.get("If-Match")
        match method, order_type is None, order_id is None, lines:
            case "POST", True, True, False:
                return self._with_json(lambda body: api.create_sales_order(state, tenant_id, body))
            case "PATCH", False, False, False:
                return self._with_json(
                    lambda body: updates.patch_order(state, tenant_id, order_type, order_id, body, if_match)
                )
            case "POST", False, False, True:
                return self._with_json(lambda body: updates.add_lines(state, tenant_id, order_type, order_id, body))
            case "PATCH", False, False, True:
                return self._with_json(
                    lambda body: updates.patch_lines(state, tenant_id, order_type, order_id, body, if_match)
                )
            case "DELETE", False, False, True:
                ids = query.get("ids", [])
                return updates.delete_lines(state, tenant_id, order_type, order_id, ids, if_match)
        return self._not_allowed()

    def _with_json(self, endpoint):
        """Call `endpoint` with the JSON body, or answer 415 or 400 as Visma does for other bodies."""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in _JSON_TYPES and not (
            content_type.startswith("application/") and content_type.endswith("+json")
        ):
            return 415, {}, api.problem(415, "Unsupported Media Type", "Send the body as application/json.")
        try:
            body = json.loads(self.raw_body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return 400, {}, api.validation_problem({"$": [f"Invalid JSON: {exc}"]})
        return endpoint(body)

    def _not_allowed(self):
        return 405, {}, api.problem(405, "Method Not Allowed")

    # --- auth -----------------------------------------------------------------------------------------------------
    def _authenticate(self):
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Bearer "):
            return self._unauthorized("An access token is required.")
        token = self.state.lookup_token(header[len("Bearer ") :].strip())
        return token or self._unauthorized("The access token is invalid or expired.")

    def _unauthorized(self, detail: str):
        return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, api.problem(401, "Unauthorized", detail)

    def _too_many(self, retry_after: int):
        self.rate_headers = self.rate_headers or self._rate_headers(0, retry_after)
        body = api.problem(429, "Too Many Requests", f"Rate limit exceeded. Retry after {retry_after} seconds.")
        return 429, {"Retry-After": str(retry_after)}, body

    def _rate_headers(self, remaining: int, reset: int) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.state.rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(time.time()) + reset if self.state.rate_reset_epoch else reset),
            "X-RateLimit-Policy": "4-fixed-window",
        }
        return {name.lower(): value for name, value in headers.items()} if self.state.lowercase_headers else headers

    def _token(self):
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return self._oauth_error(400, "invalid_request", "Use application/x-www-form-urlencoded.")
        form = {k: v[-1] for k, v in parse_qs(self.raw_body.decode("utf-8", "replace")).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = self.headers.get("Authorization") or ""
        if basic.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return self._oauth_error(401, "invalid_client", "Malformed Basic credentials.")
        tenant_id = form.get("tenant_id", "")
        self.tenant_id = tenant_id or None
        if client_id:
            self.state.count_token_request(client_id, tenant_id)
        if "grant_type" not in form:
            return self._oauth_error(400, "invalid_request", "grant_type is missing.")
        if form["grant_type"] != "client_credentials":
            return self._oauth_error(400, "unsupported_grant_type", "Only client_credentials is supported.")
        if client_id != self.state.client_id or secret != self.state.client_secret:
            return self._oauth_error(401, "invalid_client", "Unknown client or wrong client secret.")
        scopes = tuple(form.get("scope", "").split())
        if not scopes:
            return self._oauth_error(400, "invalid_scope", "scope is required.")
        if any(s not in self.state.granted_scopes for s in scopes):
            return self._oauth_error(
                400, "invalid_scope", "The application's API integration does not grant a requested scope."
            )
        tenant = self.state.tenants.get(tenant_id)
        if not tenant_id or tenant is None or not tenant["approved"]:
            return self._oauth_error(400, "invalid_tenant", "The tenant has not approved the application.")
        if any(s not in tenant["scopes"] for s in scopes):
            return self._oauth_error(400, "invalid_scope", "The tenant has not approved a requested scope.")
        token, lifetime = self.state.issue_token(tenant_id, scopes)
        return (
            200,
            {"Cache-Control": "no-store"},
            {
                "access_token": token,
                "expires_in": lifetime,
                "token_type": "Bearer",
                "scope": " ".join(scopes),
            },
        )

    def _oauth_error(self, status: int, error: str, description: str):
        return (
            status,
            {"Cache-Control": "no-store", "Content-Type": "application/json"},
            {
                "error": error,
                "error_description": description,
            },
        )

    # --- control --------------------------------------------------------------------------------------------------
    def _control(self, method: str, path: str):
        state = self.state
        if (method, path) == ("GET", "/_sandbox/orders"):
            body = {"orders": [control.order_view(order) for order in state.orders()]}
        elif method == "POST" and (match := _CONTROL_ORDER_PATH.match(path)):
            try:
                changed = control.edit_order(state, match["type"], match["id"], json.loads(self.raw_body or b"null"))
            except json.JSONDecodeError as exc:
                return 400, {}, {"sandbox": CONTROL_NOTE, "error": f"invalid JSON: {exc}"}
            except control.ControlError as exc:
                return exc.status, {}, {"sandbox": CONTROL_NOTE, "error": str(exc)}
            body = {"order": changed}
        elif (method, path) == ("GET", "/_sandbox/webhooks"):
            body = {**state.webhooks.settings(), "pending": state.webhooks.pending()}
            body["deliveries"] = state.webhooks.deliveries()
        elif (method, path) == ("POST", "/_sandbox/webhooks"):
            try:
                state.webhooks.configure(json.loads(self.raw_body or b"{}"))
            except ValueError as exc:
                return 400, {}, {"sandbox": CONTROL_NOTE, "error": str(exc)}
            body = state.webhooks.settings()
        elif (method, path) == ("GET", "/_sandbox/requests"):
            body = {"requests": state.request_log()}
        elif (method, path) == ("GET", "/_sandbox/tokens"):
            with state.lock:
                body = {"token_requests": dict(state.token_counts), "token_times": dict(state.token_times)}
        elif (method, path) == ("GET", "/_sandbox/health"):
            body = {"status": "ok"}
        elif (method, path) == ("POST", "/_sandbox/faults"):
            try:
                state.set_faults(json.loads(self.raw_body or b"[]"))
            except (ValueError, TypeError, AttributeError) as exc:
                return 400, {}, {"sandbox": CONTROL_NOTE, "error": str(exc)}
            body = {"faults": len(state.faults)}
        elif (method, path) == ("DELETE", "/_sandbox/faults"):
            state.set_faults([])
            body = {"faults": 0}
        elif (method, path) == ("POST", "/_sandbox/latency"):
            try:
                state.latency = parse_latency(json.loads(self.raw_body or b"0"))
            except (ValueError, TypeError) as exc:
                return 400, {}, {"sandbox": CONTROL_NOTE, "error": str(exc)}
            body = {"latency": state.latency}
        elif (method, path) == ("POST", "/_sandbox/reset"):
            state.reset()
            body = {"reset": True}
        elif (method, path) == ("POST", "/_sandbox/refuse"):
            try:
                seconds = float(json.loads(self.raw_body or b"{}").get("seconds", 5))
            except (ValueError, TypeError, AttributeError) as exc:
                return 400, {}, {"sandbox": CONTROL_NOTE, "error": str(exc)}
            self.server.sandbox.refuse_for(seconds, spare=self.connection)
            return 200, {"Connection": "close"}, {"sandbox": CONTROL_NOTE, "refusing_for": seconds}
        else:
            return 404, {}, {"sandbox": CONTROL_NOTE, "error": "unknown control endpoint"}
        return 200, {}, {"sandbox": CONTROL_NOTE, **body}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    sandbox: SandboxServer

    def __init__(self, address, ssl_context: ssl.SSLContext | None):
        self.ssl_context, self.connections = ssl_context, set()
        super().__init__(address, Handler)

    def get_request(self):
        connection, address = self.socket.accept()
        if self.ssl_context:  # the handshake happens on the handler's thread, not here on the accepting one
            connection = self.ssl_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def process_request(self, request, client_address) -> None:
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        if not self.sandbox.quiet:  # failed TLS handshakes and clients that hang up are expected here
            super().handle_error(request, client_address)

    def cut_connections(self, spare: socket.socket | None) -> None:
        for connection in list(self.connections - {spare}):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class SandboxServer:
    """A running sandbox on a loopback port; `port=0` picks a free one. `tls=True` serves HTTPS (see `ca_path`).

    `latency`: seconds every API answer waits, or per request, e.g. {"POST /api/v3/SalesOrders": 0.2} (the longest
    matching "[METHOD ]/path" prefix counts). `extra_tenants`: more tenant IDs that approved reading and writing.
    `lifecycle`: seconds after which Open orders ship and then complete (see sandbox.lifecycle). `webhook_url`: where
    order notifications go (see the package docstring). `local_time_hours`: lastModified written in that local time
    without a zone (see sandbox.clock.written)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        client_secret: str,
        customers: int = 40,
        token_lifetime: int = seed.DEFAULT_TOKEN_LIFETIME,
        rate_limit: int = 1000,
        rate_window: int = 3600,
        max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
        clock_offset: float = 0.0,
        silent_page_cap: int | None = None,
        orders_page_cap: int | None = SALES_ORDER_PAGE_CAP,
        latency: float | dict[str, float] = 0.0,
        extra_tenants: tuple[str, ...] = (),
        rate_reset_epoch: bool = False,
        rate_penalty: float = 0.0,
        lowercase_headers: bool = False,
        lifecycle: float | None = None,
        webhook_url: str | None = None,
        local_time_hours: float | None = None,
        faults: list | None = None,
        state_file: str | None = None,
        tls: bool = False,
        quiet: bool = True,
    ):
        self.state = SandboxState(
            client_secret,
            customers,
            token_lifetime,
            rate_limit,
            rate_window,
            max_page_size,
            clock_offset,
            silent_page_cap=silent_page_cap,
            orders_page_cap=orders_page_cap,
            latency=latency,
            extra_tenants=tuple(extra_tenants),
            rate_reset_epoch=rate_reset_epoch,
            rate_penalty=rate_penalty,
            lowercase_headers=lowercase_headers,
            lifecycle=lifecycle,
            webhook_url=webhook_url,
            local_time_hours=local_time_hours,
        )
        self.state_file, self.quiet = state_file, quiet
        if state_file and Path(state_file).exists():
            self.state.load(state_file)
        if faults:
            self.state.set_faults(faults)
        self._tls_dir = tempfile.mkdtemp(prefix="visma-sandbox-tls-") if tls else None
        ssl_context, ca_path = tls_files.server_context(Path(self._tls_dir)) if self._tls_dir else (None, None)
        self.ca_path = str(ca_path) if ca_path else None
        self._lifecycle = threading.RLock()
        self._stopped = threading.Event()
        self._resume_timer: threading.Timer | None = None
        self._thread: threading.Thread | None = None
        self._paused = False
        self._httpd = self._listen((host, port), ssl_context)
        self._address = self._httpd.server_address[:2]  # the port stays the same across pause() and resume()
        self.state.after_reset = self.resume

    def _listen(self, address, ssl_context) -> _HTTPServer:
        httpd = _HTTPServer(address, ssl_context)
        httpd.sandbox = self
        return httpd

    @property
    def base_url(self) -> str:
        host, port = self._address
        return f"{'https' if self.ca_path else 'http'}://{host}:{port}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/connect/token"

    @property
    def api_url(self) -> str:
        return self.base_url

    def start(self) -> SandboxServer:
        with self._lifecycle:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="visma-sandbox", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve until `stop()` or Ctrl-C, through any pauses."""
        self.start()
        while not self._stopped.wait(0.5):
            pass

    def pause(self, *, spare: socket.socket | None = None) -> None:
        """Stop listening, so connections are refused, and cut the open ones but `spare`; `resume()` undoes it."""
        with self._lifecycle:
            self._cancel_resume()
            if self._thread is None:  # not started, or already paused
                return
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd.cut_connections(spare)
            self._thread, self._paused = None, True

    def resume(self) -> None:
        """Listen again on the same port. `state.reset()` does this too."""
        with self._lifecycle:
            self._cancel_resume()
            if not self._paused or self._stopped.is_set():
                return
            self._httpd = self._listen(self._address, self._httpd.ssl_context)
            self._paused = False
            self.start()

    def refuse_for(self, seconds: float, *, spare: socket.socket | None = None) -> None:
        """Refuse connections for `seconds`, then come back on the same port."""
        with self._lifecycle:
            self.pause(spare=spare)
            self._resume_timer = threading.Timer(seconds, self.resume)
            self._resume_timer.daemon = True
            self._resume_timer.start()

    def _cancel_resume(self) -> None:
        if self._resume_timer:
            self._resume_timer.cancel()
            self._resume_timer = None

    def stop(self) -> None:
        with self._lifecycle:
            self._stopped.set()
            self.pause()
            self._httpd.server_close()
        self.state.cancel_pending()
        self.state.webhooks.close()
        if self.state_file:
            self.state.save(self.state_file)
        if self._tls_dir:
            shutil.rmtree(self._tls_dir, ignore_errors=True)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
