from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from .payload import ExactJSONDecoder, ExactJSONEncoder


def new_reference() -> str:
    """The portal's own reference, sent as `customer.refNo` (max 40) and used to find the order after a timeout."""
    return f"VOP-{timezone.now():%y%m%d}-{secrets.token_hex(5).upper()}"


class SalesOrder(models.Model):
    """A sales order staff build here and a background task submits to Visma exactly once.

    States: draft → queued → submitting → submitted, or failed (editable, resubmittable), or cancelled.
    """

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        QUEUED = "queued", "Queued"
        SUBMITTING = "submitting", "Submitting"
        SUBMITTED = "submitted", "Submitted"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class InitialStatus(models.TextChoices):
        OPEN = "Open", "Open"
        HOLD = "Hold", "Hold"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="sales_orders")
    customer = models.ForeignKey("tenants.Customer", on_delete=models.PROTECT, related_name="sales_orders")
    order_type = models.CharField(max_length=2, default="SO")
    date = models.DateField(default=timezone.localdate)
    description = models.CharField(max_length=255, blank=True)
    customer_order = models.CharField("customer's order number", max_length=40, blank=True)
    status = models.CharField("status in Visma", max_length=4, choices=InitialStatus.choices, default="Open")
    note = models.TextField(max_length=2048, blank=True)
    reference = models.CharField(max_length=40, unique=True, default=new_reference, editable=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT, db_index=True)
    visma_type = models.CharField(max_length=2, blank=True)
    visma_number = models.CharField(max_length=15, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error_request_id = models.CharField(max_length=64, blank=True)
    last_error_details = models.JSONField(default=dict, blank=True)
    sent_payload = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        encoder=ExactJSONEncoder,
        decoder=ExactJSONDecoder,
        help_text="The body of the last POST.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    lines_total = models.DecimalField(
        max_digits=30,
        decimal_places=8,
        null=True,
        blank=True,
        editable=False,
        help_text="Sum of the priced lines (None when Visma prices every line), kept by orders.totals.",
    )

    class Meta:
        ordering = ["-created_at"]
        # The list pages' filters and sorts, each read from an index in order (see orders.listing); prefix search
        # indexes that only PostgreSQL needs are made in migration 0007.
        indexes = [
            models.Index(fields=["state", "next_attempt_at", "id"], name="order_due_ids"),
            models.Index(fields=["tenant", "state", "next_attempt_at"], name="order_tenant_due"),
            models.Index(fields=["customer", "customer_order"], name="order_customer_reference"),
            models.Index(fields=["-created_at", "-id"], name="order_newest_first"),
            models.Index(fields=["state", "date", "created_at", "id"], name="order_state_by_date"),
            models.Index(fields=["tenant", "date", "created_at", "id"], name="order_tenant_by_date"),
            models.Index(fields=["tenant", "state", "date", "created_at", "id"], name="order_tenant_state_by_date"),
            models.Index(fields=["date", "created_at", "id"], name="order_by_date"),
            models.Index(fields=["visma_number", "id"], name="order_by_visma_number"),
            models.Index(fields=["customer_order", "id"], name="order_by_customer_order"),
            models.Index(fields=["lines_total", "id"], name="order_by_total"),
            models.Index(fields=["customer", "date", "created_at", "id"], name="order_customer_by_date"),
        ]
        permissions = [
            ("submit_salesorder", "Can submit sales orders to Visma"),
            ("import_salesorders", "Can import sales orders from a file"),
        ]

    def __str__(self) -> str:
        return self.visma_label or self.reference

    @property
    def visma_label(self) -> str:
        return f"{self.visma_type} {self.visma_number}" if self.visma_number else ""

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES

    @property
    def is_submittable(self) -> bool:
        return self.state in (self.State.DRAFT, self.State.FAILED)

    @property
    def is_cancellable(self) -> bool:
        return self.state in CANCELLABLE_STATES

    @property
    def is_in_flight(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.SUBMITTING)


EDITABLE_STATES = (SalesOrder.State.DRAFT, SalesOrder.State.FAILED)
CANCELLABLE_STATES = (SalesOrder.State.DRAFT, SalesOrder.State.QUEUED, SalesOrder.State.FAILED)


class SalesOrderLine(models.Model):
    """One line of a sales order (`NewSalesOrderLineDto`)."""

    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    inventory_id = models.CharField("item", max_length=30)
    description = models.CharField(max_length=256, blank=True)
    # At most 15 significant digits: SQLite keeps no more (it stores these columns as REAL), and Visma's API types
    # them as doubles, which hold 15 digits exactly.
    quantity = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0.0001"), "Quantity must be more than 0.")],
    )
    unit_price = models.DecimalField(
        max_digits=15,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0), "Unit price cannot be negative.")],
    )
    tax_category = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["order", "position"]
        constraints = [models.UniqueConstraint(fields=["order", "position"], name="line_unique_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.inventory_id} x {self.quantity}"

    @property
    def amount(self):
        return self.quantity * self.unit_price if self.unit_price is not None else None


class SubmissionAttempt(models.Model):
    """One row of the order's timeline: an HTTP attempt or reconciliation lookup, or what staff did (edit, queue)."""

    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="attempts_log")
    kind = models.CharField(max_length=10, default="post")  # post | lookup | edit | queue
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=20)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    customer_number = models.CharField(
        max_length=30, blank=True, help_text="The Visma customer a POST was sent for: a lost answer is looked up there."
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who edited or queued the order (staff rows only).",
    )

    class Meta:
        ordering = ["started_at", "pk"]

    def __str__(self) -> str:
        return f"{self.order} {self.kind} {self.outcome}"
