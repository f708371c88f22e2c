"""A second guard against secrets in logs: scrub anything that looks like a credential from every record."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"), r"\1[redacted]"),
    (re.compile(r"(?i)(client_secret=)[^&\s]+"), r"\1[redacted]"),
    (re.compile(r'(?i)("(?:access_token|client_secret|password)"\s*:\s*")[^"]*(")'), r"\1[redacted]\2"),
    (re.compile(r"(?i)('(?:access_token|client_secret|password)'\s*:\s*')[^']*(')"), r"\1[redacted]\2"),
    (re.compile(r"(/webhooks/visma/)[^/\s?#\"']+"), r"\1[redacted]"),  # the webhook URL's token is a secret
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


class LineFormatter(logging.Formatter):
    """One line per event: a traceback's line breaks are escaped, and the whole line is scrubbed once more."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record)).replace("\r", "").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per line (`LOG_FORMAT=json`) for log collectors; every text field is scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            event["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            event["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(event, ensure_ascii=False, default=str)
