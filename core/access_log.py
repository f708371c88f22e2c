"""gunicorn's access log, scrubbed like every other log line (`--logger-class core.access_log.ScrubbedLogger`): the
webhook URL's token and anything that looks like a credential never reach it."""

from __future__ import annotations

from gunicorn import glogging

from .logging import redact


class ScrubbedLogger(glogging.Logger):
    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
