"""What staff do with applications and tenants: register them, prove the connection, see what is left to set up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import SCOPE_WRITE, ServiceApplication, Tenant
from .visma import TokenRejected, VismaClient, VismaError


@dataclass
class Step:
    title: str
    state: str = "skipped"  # ok | failed | skipped
    detail: str = "Not run: it needs a token first."


@dataclass
class ConnectionReport:
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every step passed, or was skipped because the tenant is registered without it (read only)."""
        return all(step.state in ("ok", "skipped") for step in self.steps) and self.steps[0].state == "ok"

    @property
    def summary(self) -> str:
        failed = next((s for s in self.steps if s.state == "failed"), None)
        return "All steps passed." if failed is None else f"{failed.title}: {failed.detail}"


def check_connection(tenant: Tenant) -> ConnectionReport:
    """Token, read call, write scope: each step explained, the result stored on the tenant."""
    report = ConnectionReport(
        [Step("1. Token from Visma Connect"), Step("2. Read customers"), Step("3. Write scope for sales orders")]
    )
    token_step, read_step, write_step = report.steps
    client = VismaClient(tenant, budget=settings.VISMA_CALL_DEADLINE_SECONDS, for_staff=True)  # staff wait for it
    try:
        token = client.token()
        expires = datetime.fromtimestamp(token.expires_at, tz=UTC)
        token_step.state = "ok"
        token_step.detail = (
            f"Granted: {token.scope or 'no scope listed'}; valid until {timezone.localtime(expires):%H:%M}."
        )
    except TokenRejected as exc:
        token_step.state, token_step.detail = "failed", str(exc)
    except VismaError as exc:
        token_step.state, token_step.detail = "failed", str(exc)
    if token_step.state == "ok":
        try:
            page = client.get_customers(page_index=0, page_size=1)
            read_step.state = "ok"
            total = "an unknown number of" if page.total_count is None else str(page.total_count)
            read_step.detail = f"Visma lists {total} customers for this tenant."
        except VismaError as exc:
            read_step.state, read_step.detail = "failed", str(exc)
        if SCOPE_WRITE in token.scope.split():
            write_step.state, write_step.detail = "ok", "Orders can be submitted for this tenant."
        elif tenant.can_write:
            write_step.state = "failed"
            write_step.detail = "The token has no write scope although the tenant is marked as approving it."
        else:  # registered as read only on purpose: nothing is broken, but say what it means
            write_step.state = "skipped"
            write_step.detail = (
                "This tenant approved read only: customers can be synced, orders cannot be submitted. To send "
                "orders, ask the customer's Integration Administrator to approve the write scope in the Visma App "
                "Store, then tick it here."
            )
    Tenant.objects.filter(pk=tenant.pk).update(
        last_check_at=timezone.now(), last_check_ok=report.ok, last_check_message=report.summary
    )
    tenant.refresh_from_db()
    return report


@transaction.atomic
def register_application(*, client_id: str, name: str, secret: str | None, **fields) -> tuple[ServiceApplication, bool]:
    """Create or update an application by client ID; a new secret replaces the old one (and its cached tokens)."""
    application, created = ServiceApplication.objects.get_or_create(client_id=client_id, defaults={"name": name})
    application.name = name
    for key, value in fields.items():
        if value is not None:
            setattr(application, key, value)
    if secret:
        application.set_secret(secret)
    elif application.secret_needs_reentry:
        raise ValidationError(
            "The token URL or API URL changed: give the client secret again. A saved secret is only ever sent to the "
            "addresses it was entered for."
        )
    application.full_clean(exclude=["client_id"])
    application.save()
    return application, created


def register_tenant(*, application: ServiceApplication, tenant_id: str, name: str, can_read: bool, can_write: bool):
    return Tenant.objects.update_or_create(
        application=application,
        tenant_id=tenant_id,
        defaults={"name": name, "can_read": can_read, "can_write": can_write},
    )


@dataclass
class ChecklistItem:
    title: str
    done: bool
    next_step: str


def onboarding_checklist(application: ServiceApplication, tenant: Tenant | None = None) -> list[ChecklistItem]:
    """The Visma Developer Portal steps, ticked from what the portal knows or has verified: for one tenant what that
    tenant proved, for the application a tenant's step only once every active tenant has done it."""
    tenants = [tenant] if tenant else list(application.tenants.filter(active=True).order_by("name"))
    approved = [t for t in tenants if t.last_token_at and not t.token_failures]
    verified = [t for t in tenants if t.last_check_ok]
    token_ok = bool(approved)  # the integration and the publishing work as soon as one tenant gets tokens

    def all_of(done: list[Tenant]) -> bool:
        return bool(tenants) and len(done) == len(tenants)

    def of_tenants(done: list[Tenant]) -> str:
        return "" if tenant or len(tenants) < 2 else f" ({len(done)} of {len(tenants)} tenants)"

    def waiting(done: list[Tenant]) -> str:
        names = [t.name for t in tenants if t not in done]
        return f"Still to do for {', '.join(names)}. " if names and not tenant and len(tenants) > 1 else ""

    items = [
        ChecklistItem(
            "Service application registered in the Visma Developer Portal",
            True,
            "Register a service application in the Developer Portal (My Applications).",
        ),
        ChecklistItem(
            "Client secret generated and saved here",
            application.has_secret,
            "Generate a secret in the Developer Portal's Credentials tab (shown once) and save it on this application.",
        ),
        ChecklistItem(
            "SalesOrder API integration with read and write scopes",
            token_ok,
            "Add the Visma.net ERP SalesOrder API integration with visma.net.erp.salesorder:read and :write.",
        ),
        ChecklistItem(
            "Application published (invite only) with an invitation code",
            token_ok,
            "Publish the application as invite-only in the Developer Portal and copy the invitation code.",
        ),
        ChecklistItem(
            "Customer approved the application in the Visma App Store" + of_tenants(approved),
            all_of(approved),
            waiting(approved)
            + "Send the invitation code to the customer's Integration Administrator; approval can take 10-15 minutes.",
        ),
        ChecklistItem(
            "Tenant ID entered here",
            bool(tenants),
            "Add the customer's tenant (company) ID, as shown after approval.",
        ),
        ChecklistItem(
            "Connection verified" + of_tenants(verified),
            all_of(verified),
            waiting(verified) + "Use Test connection on the tenant.",
        ),
    ]
    return items
