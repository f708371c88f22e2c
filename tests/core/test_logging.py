from __future__ import annotations

import logging

from core.logging import RedactSecretsFilter, redact


def test_redact_scrubs_bearer_tokens_and_form_secrets():
    text = 'Authorization: Bearer abc.def-ghi client_secret=s3cr3t&x=1 {"access_token": "tok"}'
    cleaned = redact(text)
    assert "abc.def-ghi" not in cleaned and "s3cr3t" not in cleaned and '"tok"' not in cleaned
    assert "x=1" in cleaned


def test_filter_rewrites_the_record_message():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent %s", ("client_secret=canary",), None)
    RedactSecretsFilter().filter(record)
    assert "canary" not in record.getMessage()
