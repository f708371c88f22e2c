"""Sessions: logged-in pages are never cached, and a login ends after an idle hour or a working day."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from core.middleware import LAST_SEEN, SESSION_STARTED

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_(viewer) -> Client:
    client = Client()
    client.force_login(viewer)
    assert client.get(reverse("dashboard")).status_code == 200
    return client


def shift(client: Client, key: str, seconds: int) -> None:
    """Move a moment recorded in the session `seconds` into the past."""
    session = client.session
    session[key] -= seconds
    session.save()


def test_logged_in_pages_are_not_stored_by_browsers_or_proxies(client_):
    cache_control = client_.get(reverse("dashboard"))["Cache-Control"]
    assert "no-store" in cache_control and "private" in cache_control


def test_an_idle_session_ends_with_the_reason_on_the_login_page(settings, client_):
    shift(client_, LAST_SEEN, settings.SESSION_IDLE_MINUTES * 60 + 1)
    response = client_.get(reverse("orders:order-list"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login") + "?next=" + reverse("orders:order-list")
    assert b"Your session ended because of inactivity" in response.content
    assert "_auth_user_id" not in client_.session
    assert client_.get(reverse("dashboard")).status_code == 302


def test_activity_keeps_the_session_alive(settings, client_):
    shift(client_, LAST_SEEN, settings.SESSION_IDLE_MINUTES * 60 - 120)
    assert client_.get(reverse("dashboard")).status_code == 200
    shift(client_, LAST_SEEN, 120)  # the visit above counted, so this is well within the idle time
    assert client_.get(reverse("dashboard")).status_code == 200


def test_a_page_polling_by_itself_does_not_count_as_activity(settings, superuser):
    client = Client()
    client.force_login(superuser)
    client.get(reverse("dashboard"))
    shift(client, LAST_SEEN, settings.SESSION_IDLE_MINUTES * 60 - 120)
    seen = client.session[LAST_SEEN]
    client.get(reverse("tenants:sync-status", args=[999999]))
    assert client.session[LAST_SEEN] == seen


def test_an_htmx_request_after_the_idle_time_sends_the_whole_page_to_login(settings, client_):
    shift(client_, LAST_SEEN, settings.SESSION_IDLE_MINUTES * 60 + 1)
    response = client_.get(
        reverse("tenants:sync-status", args=[1]),
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/orders/?state=failed"},
    )
    assert response["HX-Redirect"] == reverse("login") + "?next=/orders/%3Fstate%3Dfailed"


def test_a_busy_session_still_ends_after_its_lifetime(settings, client_):
    shift(client_, SESSION_STARTED, settings.SESSION_COOKIE_AGE + 1)
    response = client_.get(reverse("dashboard"))
    assert response.status_code == 302
    [message] = get_messages(response.wsgi_request)
    assert str(message) == "Your session ended: a login lasts at most 10 hours. Log in again to carry on."
