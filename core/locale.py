"""Each user's formats for numbers and dates and their time zone, active for their whole request.

The formats are activated as an English Django language (core.format_locales), so the page's text, Django's own
included, stays English. The choice is kept in the session: read from the profile once at login (or on the first
request of an older session) and refreshed when the user saves their settings, so pages cost no extra query.
Anonymous pages and users who never chose get the site defaults, LANGUAGE_CODE and TIME_ZONE.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.utils import timezone, translation

from . import format_locales
from .models import Profile

SESSION_KEY = "portal:locale"


def choice_of(user) -> dict[str, str]:
    """{"language": ..., "time_zone": ...} as the user chose them; "" for the site default."""
    profile = Profile.objects.filter(user=user).only("language", "time_zone").first()
    if profile is None:
        return {"language": "", "time_zone": ""}
    return {"language": profile.language, "time_zone": profile.time_zone}


def remember(request, choice: dict[str, str]) -> None:
    request.session[SESSION_KEY] = choice


def remember_at_login(sender, request, user, **kwargs) -> None:
    """On user_logged_in."""
    if request is not None and hasattr(request, "session"):
        remember(request, choice_of(user))


def language_of(choice: dict[str, str]) -> str:
    """The Django language to activate for the user's choice of formats: "en-no" for "nb"."""
    chosen = format_locales.named(choice.get("language"))
    return (chosen or format_locales.of_language(settings.LANGUAGE_CODE)).language


def time_zone_of(choice: dict[str, str]) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(choice.get("time_zone") or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def user_locale(get_response):
    """Activate the signed-in user's formats and time zone for this request; the site defaults for anyone else."""

    def middleware(request):
        choice: dict[str, str] = {}
        if request.user.is_authenticated:
            choice = request.session.get(SESSION_KEY)
            if not isinstance(choice, dict):
                choice = choice_of(request.user)
                remember(request, choice)
        language = language_of(choice)
        with translation.override(language), timezone.override(time_zone_of(choice)):
            request.LANGUAGE_CODE = language
            response = get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response

    return middleware
