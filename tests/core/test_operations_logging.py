"""Production logging: one line per event (plain or JSON), scrubbed of secrets even in tracebacks."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from core.logging import JsonFormatter, LineFormatter

ROOT = Path(__file__).resolve().parents[2]


def record_with_traceback() -> logging.LogRecord:
    try:
        raise RuntimeError("token refused: Authorization: Bearer canary-token-123")
    except RuntimeError:
        return logging.LogRecord(
            "tenants.visma", logging.ERROR, __file__, 1, "sent client_secret=%s", ("canary-secret",), sys.exc_info()
        )


def test_a_traceback_stays_on_one_scrubbed_line():
    line = LineFormatter("%(levelname)s %(name)s %(message)s").format(record_with_traceback())
    assert "\n" not in line and "Traceback" in line
    assert "canary-token-123" not in line and "canary-secret" not in line


def test_json_lines_carry_level_logger_message_and_exception_scrubbed():
    line = JsonFormatter().format(record_with_traceback())
    assert "\n" not in line
    event = json.loads(line)
    assert event["level"] == "ERROR" and event["logger"] == "tenants.visma"
    assert event["message"] == "sent client_secret=[redacted]"
    assert "RuntimeError" in event["exception"] and "canary-token-123" not in event["exception"]


def test_log_format_json_is_applied_from_the_environment():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "LOG_FORMAT": "json"}
    code = "import django, logging; django.setup(); logging.getLogger('portal').warning('hello %s', 'world')"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert json.loads(result.stderr.strip().splitlines()[-1])["message"] == "hello world"


def test_an_unknown_log_format_stops_startup():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "LOG_FORMAT": "xml"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "LOG_FORMAT must be line or json" in result.stderr
