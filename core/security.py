"""Login hardening with django-axes: separate limits per user name and per address, the client's address behind
proxies, and what a locked-out user sees."""

from __future__ import annotations

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class LoginThrottle(AxesDatabaseHandler):
    """Each of AXES_LOCKOUT_PARAMETERS against its own limit in LOGIN_FAILURE_LIMITS.

    Axes compares one failure count with one limit, so the count reported is AXES_FAILURE_LIMIT minus the attempts
    left before the nearest lock: it reaches the limit exactly when one parameter reaches its own.
    """

    def attempts_left(self, request, credentials: dict | None = None) -> dict[str, int]:
        attempts = self.get_user_attempts(request, credentials)
        return {
            parameter: limit - (recorded.aggregate(n=Sum("failures_since_start"))["n"] or 0)
            for (parameter, limit), recorded in zip(settings.LOGIN_FAILURE_LIMITS.items(), attempts, strict=True)
        }

    def get_failures(self, request, credentials: dict | None = None) -> int:
        return settings.AXES_FAILURE_LIMIT - min(self.attempts_left(request, credentials).values())


def attempts_left(request: HttpRequest, username: str) -> tuple[str, int]:
    """The lockout parameter nearest its limit, and how many wrong passwords it still takes."""
    AxesProxyHandler.update_request(request)
    left = AxesProxyHandler.get_implementation().attempts_left(request, {"username": username})
    return min(left.items(), key=lambda item: item[1])


def client_ip(request: HttpRequest) -> str:
    """The address axes counts. Behind TRUSTED_PROXY_COUNT proxies: the one the outermost proxy appended to
    X-Forwarded-For. Entries further left were sent by the client and prove nothing."""
    remote = request.META.get("REMOTE_ADDR", "")
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if not settings.TRUSTED_PROXY_COUNT or len(hops) < settings.TRUSTED_PROXY_COUNT:
        return remote
    candidate = hops[-settings.TRUSTED_PROXY_COUNT]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def lockout_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The login page again, with the reason, answered 429: even the right password is refused until the cool-off."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    parameter, _ = attempts_left(request, username)
    locked = "this user name is" if parameter == "username" else "log-ins from your network address are"
    messages.error(
        request,
        f"Too many wrong passwords: {locked} locked for {lockout_minutes()} minutes, even with the right password. "
        "An integration admin can unlock it sooner in the admin (Axes → Access attempts).",
    )
    form = AuthenticationForm(request, initial={"username": username[:150]})
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", ""), "locked_out": True}
    return render(request, "registration/login.html", context, status=429)
