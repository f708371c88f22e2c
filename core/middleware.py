from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import QueryDict
from django.utils.cache import add_never_cache_headers
from django_htmx.http import HttpResponseClientRedirect


def strip_nul_from_query_string(get_response):
    """Drop NUL characters from query-string parameters, which PostgreSQL refuses in any text it is asked to match.

    Forms reject NUL with a message of their own; a search box or a filter link simply searches without it.
    """

    def middleware(request):
        raw = request.META.get("QUERY_STRING", "")
        if "%00" in raw or "\x00" in raw:
            cleaned = QueryDict(mutable=True)
            for key, values in request.GET.lists():
                cleaned.setlist(key.replace("\x00", ""), [value.replace("\x00", "") for value in values])
            cleaned._mutable = False
            request.GET = cleaned
        return get_response(request)

    return middleware


# Polled by pages left open (live order state, sync progress): such requests do not show that someone is there.
PASSIVE_VIEWS = {"orders:order-state", "orders:order-visma", "orders:order-list-visma", "tenants:sync-status"}
SESSION_STARTED = "portal:session_started"
LAST_SEEN = "portal:last_seen"
SEEN_EVERY = 60  # seconds: record activity at most once a minute rather than writing the session on every request


def session_limits(get_response):
    """A login ends after SESSION_IDLE_MINUTES without activity, and SESSION_COOKIE_AGE after it began, with a word
    on the login page about why. Pages for a logged-in user are never stored by the browser or a proxy."""

    def middleware(request):
        if request.user.is_authenticated and (reason := _why_ended(request.session)):
            logout(request)
            messages.info(request, f"{reason} Log in again to carry on.")
            if request.headers.get("HX-Request") == "true":  # a fragment: send the whole page to the login form
                page = urlsplit(request.headers.get("HX-Current-URL", ""))
                back = page.path + (f"?{page.query}" if page.query else "") or "/"
                return HttpResponseClientRedirect(redirect_to_login(back).url)
            return redirect_to_login(request.get_full_path())
        response = get_response(request)
        if request.user.is_authenticated:
            add_never_cache_headers(response)
            now = int(time.time())
            request.session.setdefault(SESSION_STARTED, now)  # a login from before this clock existed
            match = request.resolver_match
            passive = match is not None and match.view_name in PASSIVE_VIEWS and request.method == "GET"
            if not passive and now - request.session.get(LAST_SEEN, 0) >= SEEN_EVERY:
                request.session[LAST_SEEN] = now
        return response

    return middleware


def start_session_clock(sender, request, user, **kwargs) -> None:
    """On user_logged_in: the lifetime and the idle time both count from the login."""
    request.session[SESSION_STARTED] = request.session[LAST_SEEN] = int(time.time())


def _why_ended(session) -> str:
    now = int(time.time())
    idle_minutes = settings.SESSION_IDLE_MINUTES
    if now - session.get(LAST_SEEN, now) > idle_minutes * 60:
        return f"Your session ended because of inactivity (nothing done for {idle_minutes} minutes)."
    if now - session.get(SESSION_STARTED, now) > settings.SESSION_COOKIE_AGE:
        return f"Your session ended: a login lasts at most {_hours_or_minutes(settings.SESSION_COOKIE_AGE)}."
    return ""


def _hours_or_minutes(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour{'s' if seconds != 3600 else ''}"
    return f"{seconds // 60} minutes"
