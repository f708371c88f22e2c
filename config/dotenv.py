"""Write a local `.env` with freshly generated keys, once: `python -m config.dotenv`. Standard library only.

An existing `.env` is kept; one written before HTTPS became the default gets the demo's plain-HTTP settings added.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


# HTTPS settings are on by default unless DEBUG is; the demo serves plain HTTP on 127.0.0.1, so its .env turns them off.
PLAIN_HTTP = [
    "# Plain HTTP on this machine: no redirect to https, cookies sent over http, no HSTS.",
    "SECURE_SSL_REDIRECT=False",
    "SESSION_COOKIE_SECURE=False",
    "CSRF_COOKIE_SECURE=False",
    "SECURE_HSTS_SECONDS=0",
]

SANDBOX_ON_LOOPBACK = [
    "# The sandbox runs on this machine: let the portal send the demo secret to loopback.",
    "VISMA_ALLOW_LOOPBACK=True",
]


def local_env() -> str:
    fernet_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    return "\n".join(
        [
            "# Written once by `make run` for this machine; edit freely. See .env.example for every variable.",
            f"SECRET_KEY={secrets.token_urlsafe(50)}",
            f"FIELD_ENCRYPTION_KEY={fernet_key}",
            "ALLOWED_HOSTS=127.0.0.1,localhost",
            *PLAIN_HTTP,
            "PORTAL_URL=http://127.0.0.1:8000",
            "VISMA_TOKEN_URL=http://127.0.0.1:8765/connect/token",
            "VISMA_API_URL=http://127.0.0.1:8765",
            *SANDBOX_ON_LOOPBACK,
            f"VISMA_SANDBOX_CLIENT_SECRET={secrets.token_urlsafe(32)}",
            "# Alerts (a failed order, failing token requests, a failed sync) go to the console in the demo.",
            "ALERT_EMAILS=integration-team@localhost",
            "",
        ]
    )


def main() -> int:
    if ENV_FILE.exists():
        text = ENV_FILE.read_text()
        missing = []  # settings the local demo needs that an older .env was written without
        if "SECURE_SSL_REDIRECT=" not in text:
            missing += PLAIN_HTTP
        if "VISMA_ALLOW_LOOPBACK=" not in text:
            missing += SANDBOX_ON_LOOPBACK
        if missing:
            ENV_FILE.write_text(text.rstrip("\n") + "\n" + "\n".join(missing) + "\n")
            names = [line.split("=")[0] for line in missing if not line.startswith("#")]
            print(f"{ENV_FILE.name} exists; added what the local demo needs: {', '.join(names)}.")
        else:
            print(f"{ENV_FILE.name} exists; keeping it.")
        return 0
    ENV_FILE.write_text(local_env())
    ENV_FILE.chmod(0o600)
    print(f"Wrote {ENV_FILE.name} with new keys.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
