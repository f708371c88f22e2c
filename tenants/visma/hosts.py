"""Where the client secret and access tokens may go: Visma's own hosts over HTTPS, and loopback (the sandbox) only
when `VISMA_ALLOW_LOOPBACK` is on. Checked when a URL is saved and again before every request."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _matches(host: str, pattern: str) -> bool:
    pattern = pattern.strip().lower()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host != pattern[2:]
    return host == pattern


def url_problem(url: str) -> str:
    """Why `url` may not receive our secret or tokens, in words for staff; empty when it may."""
    try:
        parts = urlsplit(url or "")
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "This is not a valid URL."
    if not host:
        return "The URL has no host."
    if parts.username or parts.password:
        return "The URL may not contain a user name or password."
    if is_loopback(host):
        if not settings.VISMA_ALLOW_LOOPBACK:
            return "Loopback addresses are only allowed when VISMA_ALLOW_LOOPBACK is on (the local sandbox)."
        if parts.scheme not in ("http", "https"):
            return "Only http:// or https:// is allowed for the local sandbox."
        return ""
    if parts.scheme != "https":
        return "Visma is only reached over https://."
    allowed = settings.VISMA_ALLOWED_HOSTS
    if not any(_matches(host, pattern) for pattern in allowed):
        return f"{host} is not one of Visma's hosts allowed here ({', '.join(allowed)}); see VISMA_ALLOWED_HOSTS."
    return ""


def validate_visma_url(url: str) -> None:
    """Model and form validator for the token and API URLs."""
    if problem := url_problem(url):
        raise ValidationError(problem, code="visma_host")
