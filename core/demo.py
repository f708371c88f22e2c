"""Demo data for `make run`: what a new user sees after the first start."""

from __future__ import annotations

from django.conf import settings


def load_demo_data(sandbox_url: str) -> list[str]:
    """Create (or refresh) the demo records and return lines describing them for the start banner."""
    if not settings.VISMA_SANDBOX_CLIENT_SECRET:
        return ["No VISMA_SANDBOX_CLIENT_SECRET in .env: demo tenants were not registered."]
    from tenants.demo import register_sandbox

    tenants = register_sandbox(sandbox_url, settings.VISMA_SANDBOX_CLIENT_SECRET)
    return [f"Tenants registered      {len(tenants)} ({', '.join(t.name for t in tenants)})"]
