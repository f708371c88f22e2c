"""Login hardening: what a locked-out user sees (django-axes calls `lockout_response`)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The login page again, with the reason, answered 429: even the right password is refused until the cool-off."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    messages.error(
        request,
        f"Too many failed log-ins in a row for this user name: it is locked for {minutes} minutes, even with the "
        "right password. An integration admin can unlock it sooner in the admin (Axes → Access attempts).",
    )
    form = AuthenticationForm(request, initial={"username": username[:150]})
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", ""), "locked_out": True}
    return render(request, "registration/login.html", context, status=429)
