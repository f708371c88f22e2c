"""Every URL pattern of the project, with sample values filled in, for tests that must cover all of them."""

from __future__ import annotations

import re
import uuid

from django.urls import URLPattern, URLResolver, get_resolver

SAMPLE_UUID = str(uuid.UUID(int=1))
_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_GROUP = re.compile(r"\(\?P<[^>]+>([^)]*)\)")


def _fill_route(route: str) -> str:
    def sample(match: re.Match) -> str:
        return {"int": "1", "uuid": SAMPLE_UUID}.get(match.group("converter") or "str", "x")

    return _ROUTE_PARAM.sub(sample, route)


def _fill_regex(regex: str) -> str:
    def sample(match: re.Match) -> str:
        body = match.group(1)
        if re.fullmatch(r"[\w|]+", body):
            return body.split("|")[0]
        return "1" if "d" in body else "x"

    return _REGEX_GROUP.sub(sample, regex).lstrip("^").rstrip("$").replace("\\", "")


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        text = str(pattern.pattern)
        part = _fill_regex(text) if text.startswith("^") else _fill_route(text)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + part)
        elif isinstance(pattern, URLPattern):
            yield "/" + prefix + part, pattern.name or ""


def all_urls() -> list[tuple[str, str]]:
    """(path, url name) for every pattern, de-duplicated, in resolver order."""
    seen: dict[str, str] = {}
    for path, name in _walk(get_resolver().url_patterns):
        seen.setdefault(path, name)
    return list(seen.items())
