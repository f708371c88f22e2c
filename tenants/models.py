from __future__ import annotations

import secrets
from hashlib import sha256
from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from . import crypto

SCOPE_READ = "visma.net.erp.salesorder:read"
SCOPE_WRITE = "visma.net.erp.salesorder:write"


def default_token_url() -> str:
    return settings.VISMA_TOKEN_URL


def default_api_url() -> str:
    return settings.VISMA_API_URL


def new_webhook_token() -> str:
    return secrets.token_urlsafe(32)


def validate_visma_url(value: str) -> None:
    """Only Visma's own hosts over https (and the sandbox on loopback when allowed) may receive secrets or tokens."""
    from .visma.hosts import validate_visma_url as validate

    validate(value)


class ServiceApplication(models.Model):
    """The service application registered in the Visma Developer Portal (client credentials).

    The client secret is stored encrypted and can never be read back through the UI; `secret_version` changes with
    every new secret, so cached tokens of the old one stop being used at once.
    """

    name = models.CharField(max_length=200)
    client_id = models.CharField("client ID", max_length=200, unique=True)
    description = models.TextField(blank=True)
    encrypted_secret = models.TextField(blank=True, editable=False)
    secret_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    secret_version = models.PositiveIntegerField(default=0, editable=False)
    secret_binding = models.CharField(
        max_length=64, blank=True, editable=False, help_text="Client ID, token URL and API host of the saved secret."
    )
    token_url = models.URLField("token URL", default=default_token_url, validators=[validate_visma_url])
    api_url = models.URLField("API URL", default=default_api_url, validators=[validate_visma_url])
    token_lifetime = models.PositiveIntegerField(default=3600, help_text="Seconds, as set in the Developer Portal.")
    active = models.BooleanField(default=True)
    webhook_token = models.CharField(
        max_length=64,
        unique=True,
        default=new_webhook_token,
        editable=False,
        help_text="The secret part of the webhook URL given to Visma; rotating it makes the old URL answer 404.",
    )
    webhook_token_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    def __repr__(self) -> str:
        return f"<ServiceApplication {self.pk} {self.client_id}>"

    @property
    def has_secret(self) -> bool:
        return bool(self.encrypted_secret)

    def set_secret(self, secret: str) -> None:
        """Call after the other fields are set: the secret is bound to this client ID, token URL and API host."""
        self.encrypted_secret = crypto.encrypt(secret)
        self.secret_set_at = timezone.now()
        self.secret_version += 1
        self.secret_binding = self.credentials_binding()

    def credentials_binding(self) -> str:
        """What a secret is entered for. A change of client ID, token URL or API host needs the secret typed again,
        so a changed URL can never receive the secret saved for another."""
        api_host = urlsplit(self.api_url or "").netloc.lower()
        raw = "\n".join([self.client_id or "", self.token_url or "", api_host])
        return sha256(raw.encode()).hexdigest()

    @property
    def secret_needs_reentry(self) -> bool:
        return self.has_secret and self.secret_binding != self.credentials_binding()

    def client_secret(self) -> str:
        if not self.encrypted_secret:
            raise crypto.EncryptionKeyError(f"No client secret is stored for {self.client_id}.")
        return crypto.decrypt(self.encrypted_secret)


class Tenant(models.Model):
    """A customer organisation (Visma tenant) that approved the service application in the Visma App Store."""

    application = models.ForeignKey(ServiceApplication, on_delete=models.PROTECT, related_name="tenants")
    tenant_id = models.UUIDField("tenant ID")
    name = models.CharField(max_length=200)
    can_read = models.BooleanField("read scope approved", default=True)
    can_write = models.BooleanField("write scope approved", default=True)
    active = models.BooleanField(default=True)
    default_currency = models.CharField(
        max_length=3,
        default="NOK",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use the three-letter currency code, e.g. NOK, SEK or EUR.")],
        help_text="Shown with amounts of customers whose currency Visma does not give (ISO code, e.g. NOK).",
    )
    last_check_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True)
    last_check_message = models.TextField(blank=True)
    last_token_at = models.DateTimeField(null=True, blank=True)
    last_token_expires_at = models.DateTimeField(null=True, blank=True)
    last_token_error = models.TextField(blank=True)
    last_token_error_at = models.DateTimeField(null=True, blank=True)
    token_failures = models.PositiveIntegerField(default=0, help_text="Token requests failed in a row.")
    unreachable_since = models.DateTimeField(
        null=True, blank=True, help_text="Visma could not be reached for this tenant since then (nothing was sent)."
    )
    unreachable_failures = models.PositiveIntegerField(default=0, help_text="Calls in a row that could not be sent.")
    unreachable_probe_at = models.DateTimeField(null=True, blank=True, help_text="When sending is tried again.")
    order_types = models.CharField(
        max_length=100,
        default="SO",
        validators=[
            RegexValidator(
                r"^[A-Z0-9]{1,2}(, ?[A-Z0-9]{1,2})*$",
                "List order types of one or two capitals or digits, separated by commas, e.g. SO, SE.",
            )
        ],
        help_text="Order types staff may choose, as set up in Visma, separated by commas; the first is the default.",
    )
    orders_seen_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="The newest lastModified read from Visma (Visma's clock)."
    )
    orders_refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    orders_refresh_error = models.TextField(blank=True, editable=False)
    orders_refresh_wanted_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="A refresh was asked for (webhook, staff) and not yet run."
    )
    last_webhook_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["application", "tenant_id"], name="tenant_unique_per_application")
        ]
        permissions = [
            ("check_connection", "Can test the Visma connection"),
            ("sync_customers", "Can sync customers from Visma"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def order_type_choices(self) -> list[str]:
        return [part.strip() for part in self.order_types.split(",") if part.strip()] or ["SO"]

    @property
    def scopes(self) -> tuple[str, ...]:
        """What the portal asks Visma for: read always (every tenant-bound call needs it), write when approved."""
        return (SCOPE_READ, SCOPE_WRITE) if self.can_write else (SCOPE_READ,)


from .api_log import ApiCall  # noqa: E402, F401 - models in their own modules
from .customer_models import Customer, CustomerSync  # noqa: E402, F401
from .notifications import Incident  # noqa: E402, F401
