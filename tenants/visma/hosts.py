"""Where the client secret and access tokens may go: Visma's own hosts over HTTPS, and loopback (the sandbox) only
when `VISMA_ALLOW_LOOPBACK` is on. Checked when a URL is saved and again before every request."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

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


def shown(url: str) -> str:
    """The host and port of `url`, for messages: never a user name or password written into it."""
    try:
        parts = urlsplit(url or "")
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname or "an invalid URL")
    except ValueError:
        return "an invalid URL"


def url_problem(url: str) -> str:
    """Why `url` may not receive our secret or tokens, in words for staff; empty when it may."""
    if any(ch in "\\%" or ch.isspace() or not ch.isprintable() for ch in (url or "")):
        return "The URL has characters that do not belong in a Visma address (spaces, backslashes, % or controls)."
    try:
        parts = urlsplit(url or "")
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises on a malformed port
        connects_to = (parse_url(url).host or "").strip("[]").lower()
    except (ValueError, LocationParseError):
        return "This is not a valid URL."
    if connects_to != host:  # what we check must be what the HTTP library connects to
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
        return (
            f"{host} is not one of Visma's hosts ({', '.join(allowed)}). If Visma really uses it, the portal's "
            "administrator can allow it with VISMA_ALLOWED_HOSTS."
        )
    return ""


def validate_visma_url(url: str) -> None:
    """Model and form validator for the token and API URLs."""
    if problem := url_problem(url):
        raise ValidationError(problem, code="visma_host")
