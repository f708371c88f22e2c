"""Review findings against the Visma integration's promises (secret/tokens stay home, remote text cleaned and capped,
exactly-once orders, an outage neither fails orders nor floods e-mail, no call hangs past its deadline).

Each failing test is a finding; each passing one is a regression test for a promise that held under attack. Every
test talks over real HTTP(S) to the sandbox or to a recording server on loopback only.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from orders import payload, services
from orders.models import SalesOrder, SubmissionAttempt
from tenants.api_log import ApiCall
from tenants.models import ServiceApplication, Tenant
from tenants.notifications import Incident
from tenants.visma import OutcomeUnknown, Refused, VismaClient, VismaError, VismaUnavailable
from tenants.visma.hosts import url_problem
from tests.conftest import SANDBOX_SECRET
from tests.listener import Listener
from tests.ordering import make_due, make_order, posts

pytestmark = pytest.mark.django_db
State = SalesOrder.State
POST = {"method": "POST", "path": "/api/v3/SalesOrders"}


# --- helpers ------------------------------------------------------------------------------------------------------
def point(application: ServiceApplication, tenant: Tenant, **urls) -> Tenant:
    """Move the application to other URLs the legitimate way (secret re-entered), return the tenant reloaded."""
    for name, value in urls.items():
        setattr(application, name, value)
    application.set_secret(SANDBOX_SECRET)
    application.save()
    return Tenant.objects.select_related("application").get(pk=tenant.pk)


def everything_staff_can_see(tenant: Tenant) -> str:
    tenant.refresh_from_db()
    parts = [tenant.last_token_error, tenant.last_check_message]
    parts += [f"{i.subject}\n{i.detail}" for i in Incident.objects.all()]
    parts += [f"{c.path} {c.request_id}" for c in ApiCall.objects.all()]
    parts += [f"{m.subject}\n{m.body}" for m in mail.outbox]
    return "\n".join(p or "" for p in parts)


class TlsDripServer:
    """Accepts TCP and starts a TLS record that never ends: one byte every `every` seconds, forever."""

    def __init__(self, every: float = 0.3):
        self.every = every
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def _serve(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self._conns.append(conn)
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        try:
            conn.recv(4096)  # the ClientHello
            conn.sendall(b"\x16\x03\x03\x40\x00")  # a handshake record of 16 KiB is coming ...
            conn.sendall(b"\x0b\x00\x3f\xfc")  # ... holding a 16 KiB Certificate message ...
            while not self._stop.is_set():
                conn.sendall(b"\x00")  # ... one byte at a time
                time.sleep(self.every)
        except OSError:
            pass

    def __enter__(self):
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()
        self._sock.close()


# === Findings (these fail today) ===================================================================================


# F1 (high) Secret echoed back by a hostile/broken Visma Connect in the `error` code lands on the tenant page
# (last_token_error), the incident, the alert e-mail and (via the exception text) an order's last error:
# `_token_failure` cleans `error` without `secrets=`, and VismaError.__str__ prints it as "(Visma code ...)".
def test_f1_token_error_code_echoing_the_client_secret_is_not_shown_to_staff(application, tenant, settings):
    settings.ALERT_EMAILS = ["ops@example.com"]
    with Listener(status=400, body={"error": SANDBOX_SECRET, "error_description": "nope"}) as connect:
        tenant = point(application, tenant, token_url=f"{connect.url}/connect/token")
        with pytest.raises(VismaError) as caught:
            VismaClient(tenant).token()
    assert SANDBOX_SECRET not in str(caught.value)
    assert SANDBOX_SECRET not in everything_staff_can_see(tenant)


# F2 (high) Secret echoed back in Visma Connect's request-id header is stored in the API call log (visible to every
# role) and written to the log line: `request_id_of` cleans the header without the secret.
def test_f2_request_id_header_echoing_the_client_secret_is_not_logged(application, tenant):
    answer = {"error": "invalid_client"}
    with Listener(status=400, headers={"X-Request-Id": SANDBOX_SECRET}, body=answer) as connect:
        tenant = point(application, tenant, token_url=f"{connect.url}/connect/token")
        with pytest.raises(VismaError):
            VismaClient(tenant).token()
    assert ApiCall.objects.exists()
    assert not ApiCall.objects.filter(request_id__contains=SANDBOX_SECRET).exists()


# F3 (high) A worker that dies mid-POST leaves no "post/unknown" line, so the sweeper (a) looks up only from
# "now - 5 min" (it overwrote attempt_started_at before reconciling) and misses the order Visma created at POST time,
# and (b) sees no lost answer, so the ORDER_RESEND_AFTER_SECONDS window does not apply: the order is POSTed again.
def test_f3_worker_died_mid_post_the_sweeper_does_not_post_it_twice(sandbox, tenant, settings):
    settings.ORDER_RESEND_AFTER_SECONDS = 600
    order = make_order(tenant)
    body = payload.build(order)
    posted_at = timezone.now() - timedelta(seconds=320)  # the sweeper's first chance: stale after timeout + 30 s
    SalesOrder.objects.filter(pk=order.pk).update(
        state=State.SUBMITTING, attempt_started_at=posted_at, next_attempt_at=None, attempts=1, sent_payload=body
    )
    SubmissionAttempt.objects.create(  # what submit() writes before its POST goes out
        order=order, kind="post", outcome="in flight", started_at=posted_at, customer_number=order.customer.number
    )
    VismaClient(tenant).create_sales_order(body)  # the POST the worker made; Visma created it; the worker died
    created = (sandbox.state.now() - timedelta(seconds=320)).isoformat().replace("+00:00", "Z")
    with sandbox.state.lock:
        sandbox.state.sales_orders[-1].update(createdAt=created, lastModified=created)
    services.sweep()
    make_due(order)
    services.submit(order.pk)  # the worker picks up whatever the sweeper queued
    order.refresh_from_db()
    assert posts(sandbox) == 1 and len(sandbox.state.orders()) == 1
    assert order.state == State.SUBMITTED


def test_f3b_worker_died_mid_post_is_not_resent_inside_the_resend_window(sandbox, tenant, settings):
    settings.ORDER_RESEND_AFTER_SECONDS = 600
    order = make_order(tenant)
    posted_at = timezone.now() - timedelta(seconds=280)  # Visma may still be creating it (no upper bound)
    SalesOrder.objects.filter(pk=order.pk).update(
        state=State.SUBMITTING, attempt_started_at=posted_at, next_attempt_at=None, attempts=1
    )
    SubmissionAttempt.objects.create(
        order=order, kind="post", outcome="in flight", started_at=posted_at, customer_number=order.customer.number
    )
    services.sweep()
    order.refresh_from_db()
    resend_allowed = posted_at + timedelta(seconds=settings.ORDER_RESEND_AFTER_SECONDS)
    assert order.state == State.SUBMITTING or order.next_attempt_at >= resend_allowed, (
        f"queued to be POSTed again at {order.next_attempt_at}, before {resend_allowed}"
    )


# F4 (medium) An outage that starts when no token is cached (tokens live an hour, so: most outages) opens two
# incidents and sends two alert e-mails before Visma answers again (token incident on the very first failure,
# then the unreachable one), although the README promises one incident / one e-mail for the whole outage.
def test_f4_an_outage_without_a_cached_token_sends_one_alert(sandbox, tenant, settings):
    settings.ALERT_EMAILS = ["ops@example.com"]
    orders = [make_order(tenant) for _ in range(2)]
    sandbox.pause()
    try:
        for order in orders:
            assert services.queue(order)
        for _ in range(3):
            for order in orders:
                make_due(order)
                services.submit(order.pk)
        for order in orders:
            order.refresh_from_db()
            assert order.state == State.QUEUED  # down is not failed: this part holds
        tenant.refresh_from_db()
        assert tenant.unreachable_since is not None
        assert Incident.objects.filter(closed_at__isnull=True).count() == 1, list(
            Incident.objects.values_list("subject", flat=True)
        )
        assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    finally:
        sandbox.resume()


# F5 (medium) Each string of a problem body is capped at 500 characters, the whole is not: 100 fields x 100
# messages is stored on the order (last_error_details) and rendered on its page, megabytes from one answer.
def test_f5_problem_details_from_visma_are_capped_as_a_whole(sandbox, tenant, clerk_client):
    errors = {f"field{i}": [f"{j}: " + "this value is not valid " * 20 for j in range(100)] for i in range(100)}
    with Listener(status=400, body={"title": "Bad", "errors": errors}) as visma:
        VismaClient(tenant).token()  # a token from the sandbox
        order = make_order(tenant)
        application = tenant.application
        application.api_url = visma.url
        application.set_secret(SANDBOX_SECRET)
        application.save()
        assert services.queue(order)
        services.submit(order.pk)
    order.refresh_from_db()
    assert order.state == State.FAILED
    stored = len(json.dumps(order.last_error_details))
    assert stored < 100_000, f"{stored} characters of Visma's problem body stored on the order"


# F6 (low, defence in depth) The request-time host check and requests disagree about the host of a URL with a
# backslash: url_problem() reads "evil.example\\.visma.net" as a *.visma.net host, urllib3 connects to
# evil.example. Only Django's URLValidator stops such a row today (loaddata, SQL, a migration skip it).
def test_f6_request_time_check_parses_the_host_as_requests_does():
    from urllib3.util import parse_url

    url = "https://evil.example\\.visma.net/connect/token"
    assert parse_url(url).host == "evil.example"  # where the secret would go
    assert url_problem(url), "url_problem() allows a URL whose request goes to evil.example"


# === Promises that held (regression tests) =========================================================================


@pytest.mark.parametrize(
    "url",
    [
        "https://connect.visma.com./connect/token",  # trailing dot
        "https://salesorder.visma.net.",
        "https://2130706433/",  # decimal IPv4
        "https://0x7f.1/",
        "https://127.1/",
        "https://x.visma.net@evil.example/",  # userinfo
        "https://connect.visma.com\\@evil.example/",
        "https://evil.example#.visma.net",
        "https://evil.example?.visma.net",
        "https://[::ffff:127.0.0.1]/",
        "https://localhost./",
        "https://xn--connect-visma-com.evil.example/",
        "https://evil.example:443/.visma.net",
    ],
)
def test_held_odd_url_forms_are_refused_without_loopback(settings, url):
    settings.VISMA_ALLOW_LOOPBACK = False
    assert url_problem(url)


# A TLS handshake that trickles in (the deadline timer cannot reach a socket before send()): CPython bounds the whole
# handshake by the connect timeout, so the call still ends in time.
def test_held_a_tls_handshake_that_trickles_in_is_cut_in_time(application, tenant, settings):
    settings.VISMA_CALL_DEADLINE_SECONDS = 2.0
    settings.VISMA_CONNECT_TIMEOUT = 1.0
    with TlsDripServer(every=0.3) as server:
        url = f"https://127.0.0.1:{server.port}"
        tenant = point(application, tenant, token_url=f"{url}/connect/token", api_url=url)
        watchdog = threading.Timer(12, server.__exit__)  # bound the test itself if the promise does not hold
        watchdog.daemon = True
        watchdog.start()
        started = time.monotonic()
        with pytest.raises(VismaError) as caught:
            VismaClient(tenant).token()
        elapsed = time.monotonic() - started
        watchdog.cancel()
    assert elapsed < settings.VISMA_CALL_DEADLINE_SECONDS + 2, f"the call took {elapsed:.1f} s: {caught.value}"


def test_held_uppercase_visma_host_is_the_same_host():
    assert url_problem("https://CONNECT.VISMA.COM/connect/token") == ""


def test_held_proxies_from_the_environment_never_see_the_secret(sandbox, tenant, monkeypatch):
    with Listener(body={}) as proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        VismaClient(tenant).get_customers(0, 1)
        assert proxy.received == []


def test_held_django_admin_changing_the_token_url_needs_the_secret(client, superuser, application, tenant):
    client.force_login(superuser)
    with Listener(body={"access_token": "stolen", "expires_in": 3600}) as thief:
        data = {
            "name": application.name,
            "client_id": application.client_id,
            "description": "",
            "token_url": f"{thief.url}/connect/token",
            "api_url": application.api_url,
            "token_lifetime": application.token_lifetime,
            "active": "on",
            "client_secret": "",
        }
        response = client.post(f"/admin/tenants/serviceapplication/{application.pk}/change/", data)
        assert response.status_code == 200 and "enter the client secret again" in response.content.decode()
        # Two steps: the API URL first (re-entry asked too), then the token URL: still asked each time.
        data["token_url"] = application.token_url
        data["api_url"] = thief.url
        response = client.post(f"/admin/tenants/serviceapplication/{application.pk}/change/", data)
        assert response.status_code == 200 and "enter the client secret again" in response.content.decode()
        application.refresh_from_db()
        assert not application.secret_needs_reentry and thief.url not in application.api_url
        assert thief.received == []


def test_held_a_stale_client_object_never_posts_for_a_tenant_deactivated_since(sandbox, tenant):
    order = make_order(tenant)
    assert services.queue(order)
    Tenant.objects.filter(pk=tenant.pk).update(active=False)
    services.submit(order.pk)
    order.refresh_from_db()
    assert order.state == State.FAILED and "deactivated" in order.last_error and posts(sandbox) == 0


def test_held_token_cache_keys_of_two_tenants_never_meet(application, tenant):
    from sandbox.seed import TENANT_FULL

    other_app = ServiceApplication(
        name="Other", client_id="other-app", token_url=application.token_url, api_url=application.api_url
    )
    other_app.set_secret("another-secret-value")
    other_app.save()
    other = Tenant.objects.create(application=other_app, tenant_id=TENANT_FULL, name="Same tenant, other app")
    assert VismaClient(tenant)._cache_key != VismaClient(other)._cache_key


def test_held_a_post_whose_answer_is_lost_goes_out_once_at_the_transport(sandbox, tenant):
    sandbox.state.set_faults([{**POST, "kind": "reset", "times": 1}])
    order = make_order(tenant)
    with pytest.raises(OutcomeUnknown):
        VismaClient(tenant).create_sales_order(payload.build(order))
    assert posts(sandbox) == 1


def test_held_a_refused_connection_is_not_an_attempt(sandbox, tenant):
    VismaClient(tenant).token()
    sandbox.pause()
    try:
        order = make_order(tenant)
        assert services.queue(order)
        services.submit(order.pk)
    finally:
        sandbox.resume()
    order.refresh_from_db()
    assert order.state == State.QUEUED and order.attempts == 0


# F7 (low) A URL row with userinfo (written behind the form) is refused, but its password is quoted in the message
# that becomes the order's last error and the incident: `_guard` prints `urlsplit(url).netloc`.
def test_f7_a_refused_url_does_not_quote_its_password(application, tenant):
    ServiceApplication.objects.filter(pk=application.pk).update(api_url="https://user:hunter2@salesorder.visma.net")
    tenant = Tenant.objects.select_related("application").get(pk=tenant.pk)
    with pytest.raises((Refused, VismaUnavailable)) as caught:
        VismaClient(tenant).get_customers(0, 1)
    assert "user name or password" in str(caught.value)
    assert "hunter2" not in str(caught.value)
