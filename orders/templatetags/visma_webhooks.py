"""`{% load visma_webhooks %}`: the webhook URL to paste into the Visma Developer Portal, absolute (from PORTAL_URL,
else from the request the page answers)."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import reverse

from orders import webhooks

register = template.Library()


@register.simple_tag(takes_context=True)
def webhook_url(context, application) -> str:
    path = reverse("visma-webhook", args=[application.webhook_token])
    if base := settings.PORTAL_URL.strip().rstrip("/"):
        return base + path
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


@register.simple_tag
def webhook_publisher() -> str:
    return webhooks.PUBLISHER


@register.simple_tag
def webhook_events() -> tuple[str, ...]:
    return webhooks.EVENTS


@register.simple_tag
def refresh_minutes() -> int:
    return settings.ORDER_REFRESH_MINUTES
