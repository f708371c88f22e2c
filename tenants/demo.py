"""Register the Visma sandbox's demo application and tenants (for `make run` and benchmarks). Idempotent."""

from __future__ import annotations

from .models import ServiceApplication, Tenant

SANDBOX_CLIENT_ID = "portal-demo-app"
SANDBOX_TENANTS = [
    # tenant id, name, read, write
    ("3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "Nordlys Handel AS", True, True),
    ("7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d", "Fjord Read-Only AB", True, False),
    ("c0ffee00-1234-4abc-8def-0123456789ab", "Vidde Ventures Oy (not approved yet)", True, True),
]


def sandbox_application() -> ServiceApplication | None:
    return ServiceApplication.objects.filter(client_id=SANDBOX_CLIENT_ID).first()


def register_sandbox(sandbox_url: str, client_secret: str) -> list[Tenant]:
    base = sandbox_url.rstrip("/")
    application, _ = ServiceApplication.objects.get_or_create(
        client_id=SANDBOX_CLIENT_ID, defaults={"name": "Sales order portal (Visma sandbox)"}
    )
    application.token_url = f"{base}/connect/token"
    application.api_url = base
    application.description = "The local Visma sandbox started by make run; not the real Visma."
    if not application.has_secret or application.client_secret() != client_secret:
        application.set_secret(client_secret)
    application.save()
    tenants = []
    for tenant_id, name, read, write in SANDBOX_TENANTS:
        tenant, _ = Tenant.objects.update_or_create(
            application=application,
            tenant_id=tenant_id,
            defaults={"name": name, "can_read": read, "can_write": write},
        )
        tenants.append(tenant)
    return tenants
