"""Write a local `.env` with freshly generated keys, once: `python -m config.dotenv`. Standard library only."""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


def local_env() -> str:
    fernet_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    return "\n".join(
        [
            "# Written once by `make run` for this machine; edit freely. See .env.example for every variable.",
            f"SECRET_KEY={secrets.token_urlsafe(50)}",
            f"FIELD_ENCRYPTION_KEY={fernet_key}",
            "ALLOWED_HOSTS=127.0.0.1,localhost",
            "PORTAL_URL=http://127.0.0.1:8000",
            "VISMA_TOKEN_URL=http://127.0.0.1:8765/connect/token",
            "VISMA_API_URL=http://127.0.0.1:8765",
            f"VISMA_SANDBOX_CLIENT_SECRET={secrets.token_urlsafe(32)}",
            "# Alerts (a failed order, failing token requests, a failed sync) go to the console in the demo.",
            "ALERT_EMAILS=integration-team@localhost",
            "",
        ]
    )


def main() -> int:
    if ENV_FILE.exists():
        print(f"{ENV_FILE.name} exists; keeping it.")
        return 0
    ENV_FILE.write_text(local_env())
    ENV_FILE.chmod(0o600)
    print(f"Wrote {ENV_FILE.name} with new keys.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
