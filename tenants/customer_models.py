"""The tenant's customers as last fetched from Visma, and the record of each sync run."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Customer(models.Model):
    """A customer of one tenant in Visma (`CustomerDto`), kept locally so staff can search and build orders.

    Never deleted: orders point at customers. A complete sync that no longer sees a customer marks it removed.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="customers")
    number = models.CharField("customer number", max_length=30, help_text="The customer's number in Visma (its id).")
    internal_id = models.IntegerField(null=True, blank=True)
    name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=30, blank=True, db_index=True)
    currency = models.CharField(max_length=10, blank=True)
    customer_class = models.CharField(max_length=30, blank=True)
    address_line1 = models.CharField(max_length=255, blank=True)
    address_line2 = models.CharField(max_length=255, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=10, blank=True)
    location_id = models.CharField(max_length=30, blank=True)
    location_name = models.CharField(max_length=255, blank=True)
    location_country = models.CharField(max_length=10, blank=True)
    location_warehouse = models.CharField(max_length=30, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True, help_text="Set when a complete sync no longer saw it.")

    class Meta:
        ordering = ["tenant", "number"]
        constraints = [models.UniqueConstraint(fields=["tenant", "number"], name="customer_unique_number_per_tenant")]
        # The customers list's sorts read these in order; sorting by name in the portal language's order uses the
        # collation indexes made in migration 0007; PostgreSQL's prefix-search indexes on the number and the name are
        # made in migrations 0007 and 0010.
        indexes = [
            models.Index(fields=["tenant", "name"], name="customer_tenant_name"),
            models.Index(fields=["name"], name="customer_name"),
            models.Index(fields=["number", "id"], name="customer_by_number"),
            models.Index(
                fields=["number", "id"], name="customer_in_visma_by_number", condition=Q(removed_at__isnull=True)
            ),
            models.Index(fields=["status", "id"], name="customer_by_status"),
            models.Index(fields=["last_seen_at", "id"], name="customer_by_last_seen"),
            models.Index(fields=["removed_at"], name="customer_removed"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def is_active(self) -> bool:
        return self.removed_at is None and self.status.lower() == "active"

    @property
    def in_visma(self) -> bool:
        return self.removed_at is None


class CustomerSync(models.Model):
    """One run of fetching a tenant's customers from Visma: who started it, how far it got, what it changed."""

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Sync now"
        SCHEDULE = "schedule", "Schedule"
        COMMAND = "command", "Command line"

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DEFERRED = "deferred", "Deferred for the rate limit"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="customer_syncs")
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    started_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker took the run.")
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RUNNING)
    pages = models.PositiveIntegerField(default=0)
    fetched = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True, help_text="Visma's totalCount, when it gave one.")
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    note = models.TextField(
        blank=True,
        help_text="How the run adapted to Visma's paging (page sizes refused or served smaller than asked); "
        "a failed run's error repeats it.",
    )

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        constraints = [
            # At most one running sync per tenant, enforced by the database itself.
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(outcome="running"), name="one_running_sync_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"Customer sync of {self.tenant} at {self.started_at:%Y-%m-%d %H:%M} ({self.get_outcome_display()})"

    @property
    def is_running(self) -> bool:
        return self.outcome == self.Outcome.RUNNING
