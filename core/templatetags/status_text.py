"""`{% load status_text %}`: how long ago and for how long, Visma's codes as words, reasons shortened at a word."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.template.defaultfilters import truncatewords
from django.utils import timezone
from django.utils.timesince import timesince

from core.text import visma_words as words_of

register = template.Library()

JUST_NOW = timedelta(minutes=1)


@register.filter
def ago(moment: datetime | None) -> str:
    """ "just now" within the first minute, then "4 minutes ago" (the largest unit only)."""
    return _since(moment, "{} ago")


@register.filter
def lasting(since: datetime | None) -> str:
    """ "for 4 minutes" for something still going on since `since`; "just now" within the first minute."""
    return _since(since, "for {}")


def _since(moment: datetime | None, wording: str) -> str:
    if moment is None:
        return ""
    if timezone.now() - moment < JUST_NOW:
        return "just now"
    return wording.format(timesince(moment, depth=1))


@register.filter
def visma_words(code: str | None) -> str:
    """Visma's status codes as words: "OnHold" → "On hold", "CreditHold" → "Credit hold"."""
    return words_of(str(code or ""))


@register.filter
def reason(text: str | None, words: int = 18) -> str:
    """A long explanation shortened after a whole word (never mid-word), with "…" when something was left out."""
    return truncatewords(text or "", words)
