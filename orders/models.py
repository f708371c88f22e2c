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

    # Where and when to deliver: sent as customer.locationId, requestOn and shipping (address and contact complete,
    # as Visma does not fill missing parts from the customer).
    location_id = models.CharField("delivery location", max_length=30, blank=True)
    request_on = models.DateField("requested delivery date", null=True, blank=True)
    delivery_line1 = models.CharField("address line 1", max_length=50, blank=True)
    delivery_line2 = models.CharField("address line 2", max_length=50, blank=True)
    delivery_line3 = models.CharField("address line 3", max_length=50, blank=True)
    delivery_postal_code = models.CharField("postal code", max_length=20, blank=True)
    delivery_city = models.CharField("city", max_length=50, blank=True)
    delivery_country = models.CharField("country", max_length=2, blank=True, help_text="Two-letter code, e.g. NO.")
    delivery_contact_name = models.CharField("contact name", max_length=255, blank=True)
    delivery_contact_attention = models.CharField("attention", max_length=255, blank=True)
    delivery_contact_phone = models.CharField("contact phone", max_length=50, blank=True)
    delivery_contact_email = models.CharField("contact e-mail", max_length=255, blank=True)

    # What Visma says of the order after it has it (orders.refresh keeps these).
    visma_status = models.CharField("status in Visma now", max_length=20, blank=True, editable=False)
    visma_order_total = models.DecimalField(max_digits=30, decimal_places=8, null=True, blank=True, editable=False)
    visma_tax_total = models.DecimalField(max_digits=30, decimal_places=8, null=True, blank=True, editable=False)
    visma_currency = models.CharField(max_length=5, blank=True, editable=False)
    visma_shipping_date = models.DateField("shipping scheduled", null=True, blank=True, editable=False)
    visma_last_modified = models.DateTimeField(null=True, blank=True, editable=False, help_text="By Visma's clock.")
    visma_etag = models.CharField(max_length=200, blank=True, editable=False, help_text="Sent back as If-Match.")
    visma_lines = models.JSONField(
        null=True, blank=True, editable=False, help_text="Visma's lines as last read (lineId, item, quantity, price)."
    )
    visma_lines_read_for = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="The lastModified the lines were read at."
    )
    visma_refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    visma_closed_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When Visma was first seen to have completed or cancelled it."
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
            models.Index(fields=["visma_status", "date", "created_at", "id"], name="order_visma_status_by_date"),
            models.Index(fields=["tenant", "state", "visma_closed_at"], name="order_tenant_followed"),
        ]
        permissions = [
            ("submit_salesorder", "Can submit sales orders to Visma"),
            ("import_salesorders", "Can import sales orders from a file"),
            ("refresh_salesorder", "Can refresh sales orders from Visma"),
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


class OrderChange(models.Model):
    """A change staff asked for to an order Visma has: sent in the background, exactly once, with If-Match.

    States: queued → sending → applied, or conflict (Visma's order changed since staff saw it: shown, never
    overwritten), or failed (Visma refused it, or attempts ran out). A lost answer is looked up before any resend.
    """

    class Kind(models.TextChoices):
        HOLD = "hold", "Put on hold"
        RELEASE = "release", "Release from hold"
        EDIT = "edit", "Change details"
        ADD_LINES = "add_lines", "Add lines"
        CHANGE_LINES = "change_lines", "Change lines"
        CANCEL = "cancel", "Cancel in Visma"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        APPLIED = "applied", "Applied"
        CONFLICT = "conflict", "Changed in Visma meanwhile"
        FAILED = "failed", "Failed"

    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    body = models.JSONField(
        encoder=ExactJSONEncoder, decoder=ExactJSONDecoder, help_text="The body sent to Visma, exactly."
    )
    if_match = models.CharField(max_length=200, help_text="The ETag of the order as staff saw it.")
    known_line_ids = models.JSONField(
        default=list, blank=True, help_text="Visma's line ids before lines were added: new ones are ours."
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    outcome_unknown_at = models.DateTimeField(
        null=True, blank=True, help_text="When a send of it last lost its answer: it is looked up before any resend."
    )
    last_error = models.TextField(blank=True)
    last_error_status = models.PositiveSmallIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    conflict = models.JSONField(
        null=True, blank=True, help_text="Visma's order as re-read after a 412: what staff are shown."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at", "id"], name="change_due_ids")]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(state__in=["queued", "sending"]),
                name="change_one_open_per_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.order} {self.get_kind_display()} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.SENDING)
