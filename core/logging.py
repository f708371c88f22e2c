"""A second guard against secrets in logs: scrub anything that looks like a credential from every record."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"), r"\1[redacted]"),
    (re.compile(r"(?i)(client_secret=)[^&\s]+"), r"\1[redacted]"),
    (re.compile(r'(?i)("(?:access_token|client_secret|password)"\s*:\s*")[^"]*(")'), r"\1[redacted]\2"),
    (re.compile(r"(?i)('(?:access_token|client_secret|password)'\s*:\s*')[^']*(')"), r"\1[redacted]\2"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
