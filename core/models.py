from __future__ import annotations

import zoneinfo
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .format_locales import CHOICES as FORMAT_CHOICES


@cache
def time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def validate_time_zone(value: str) -> None:
    if value and value not in time_zone_names():
        raise ValidationError(f"“{value}” is not a time zone; choose one from the list, e.g. Europe/Oslo.")


class Profile(models.Model):
    """A user's own settings: how numbers and dates are written (the portal's text is English), and the time zone.

    Blank means the site default (LANGUAGE_CODE, TIME_ZONE), so changing the default reaches everyone who never chose.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_profile")
    language = models.CharField("language for numbers and dates", max_length=10, blank=True, choices=FORMAT_CHOICES)
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Settings of {self.user}"
