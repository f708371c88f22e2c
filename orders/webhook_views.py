"""Visma's webhook notifications, the only page besides the login and /health/ that needs no login, and rotating the
URL Visma sends them to. The token in the URL is a secret: it is never logged (core.logging redacts it)."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tenants.models import ServiceApplication

from . import webhooks

logger = logging.getLogger(__name__)


@csrf_exempt
@login_not_required
@require_POST
def visma_webhook(request: HttpRequest, token: str) -> HttpResponse:
    """202 for a notification taken in; 404 for an unknown token (or a deactivated application), 413 for a body over
    VISMA_WEBHOOK_MAX_BYTES, 400 for one that is not a JSON object or array, 429 with Retry-After over the limit."""
    application = webhooks.application_for(token)
    if application is None:
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    body = webhooks.read_body(request)
    if body is None:
        logger.warning("Visma webhook for application %s refused: the body is over the size limit", application.pk)
        return HttpResponse("Too large.", status=413, content_type="text/plain")
    document = webhooks.parse(body)
    if document is None:
        logger.warning("Visma webhook for application %s refused: %d bytes, not JSON", application.pk, len(body))
        return HttpResponse("Send a JSON object or array.", status=400, content_type="text/plain")
    outcome = webhooks.receive(application, document)
    if outcome.status == webhooks.TOO_MANY:
        logger.warning("Visma webhook for application %s over the rate limit: %d bytes", application.pk, len(body))
        response = HttpResponse("Too many notifications.", status=429, content_type="text/plain")
        response["Retry-After"] = str(outcome.retry_after)
        return response
    logger.info(
        "Visma webhook for application %s: %d bytes, tenants %s, refresh scheduled for %s",
        application.pk,
        len(body),
        outcome.tenants,
        outcome.scheduled or "none (one is already due)",
    )
    return HttpResponse(status=202)


@require_POST
@permission_required("tenants.change_serviceapplication", raise_exception=True)
def rotate_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    """A new webhook URL; back to the tenant page it was asked from, or to the application."""
    application = get_object_or_404(ServiceApplication, pk=pk)
    webhooks.rotate_token(application, request.user)
    messages.success(
        request,
        f"{application.name} has a new webhook URL: paste it into the subscription in the Visma Developer Portal. "
        "The old URL answers 404 from now on.",
    )
    tenant = application.tenants.filter(pk=_int(request.POST.get("tenant"))).first()
    if tenant is not None:
        return redirect("tenants:tenant-detail", pk=tenant.pk)
    return redirect("tenants:application-detail", pk=application.pk)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
