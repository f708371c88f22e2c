from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import health, locale, security
from .forms import ProfileForm
from .models import Profile

# The login form tells how many wrong passwords are left before a lock once it is this few.
WARN_ATTEMPTS_LEFT = 3


@login_not_required
@never_cache
@require_GET
def health_check(request: HttpRequest) -> JsonResponse:
    """For load balancers and monitors: no login, no secrets, 200 when every check passes, else 503."""
    database_ok, database = health.check_database()
    cache_ok, cache = health.check_cache()
    cluster = health.cluster_status()
    sweeper_ok, sweeper = health.check_sweeper()
    ok = database_ok and cache_ok and cluster["ok"] and sweeper_ok
    body = {
        "status": "ok" if ok else "unhealthy",
        "checks": {
            "database": database,
            "cache": cache,
            "cluster": cluster["detail"],
            "sweeper": sweeper,
        },
        "queued_tasks": cluster["queued"],
    }
    return JsonResponse(body, status=200 if ok else 503)


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def form_invalid(self, form):
        if self.request.method == "POST" and (username := form.data.get("username", "")):
            parameter, left = security.attempts_left(self.request, username)
            if 0 < left <= WARN_ATTEMPTS_LEFT:
                locked = "this user name is" if parameter == "username" else "log-ins from your network address are"
                form.add_error(
                    None,
                    f"{left} more wrong password{'s' if left > 1 else ''} and {locked} locked for "
                    f"{security.lockout_minutes()} minutes.",
                )
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.success(request, "You have been logged out.")
        return response


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors that touch the database: the database may be why we are here.
    from django.template import loader

    context = {"posted": request.method not in ("GET", "HEAD", "OPTIONS")}
    return HttpResponse(loader.get_template("500.html").render(context), status=500)


def user_settings(request: HttpRequest) -> HttpResponse:
    """Each user's own formats for numbers and dates and time zone; nobody can open another user's."""
    profile = Profile.objects.filter(user=request.user).first() or Profile(user=request.user)
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        locale.remember(request, {"language": profile.language, "time_zone": profile.time_zone})
        messages.success(request, "Your settings are saved.")
        return redirect("user-settings")
    context = {"form": form, "example_amount": Decimal("1777.50"), "now": timezone.now()}
    return render(request, "core/user_settings.html", context)
