"""The audit trail (django-auditlog): what changed on applications, tenants, orders and users, by whom, and when.

Which models and fields are recorded is set in `AUDITLOG_INCLUDE_TRACKING_MODELS` (settings). A secret or a password
hash is recorded as "secret changed" through `secret_changed`, so no value of either ever reaches an audit entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from auditlog.models import LogEntry
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import BooleanField, DecimalField, Model, Q
from django.template.defaultfilters import pluralize
from django.utils.text import capfirst

from .exact_json import plain

SECRET_CHANGED = "secret changed"  # noqa: S105 - the words shown instead of a secret

# Entries of child objects shown with their parent: child model -> the field pointing at the parent. Their entries
# are found through the object as auditlog serialised it, so deleted lines still show.
CHILDREN = {"orders.salesorder": ("orders.salesorderline", "order")}


def secret_changed(value: str) -> str:
    """auditlog's mask for secret fields: empty stays empty, anything else becomes "secret changed"."""
    return "" if value in ("", "None") else SECRET_CHANGED


@dataclass
class Change:
    field: str
    old: str
    new: str

    @property
    def is_secret(self) -> bool:
        return SECRET_CHANGED in (self.old, self.new)


@dataclass
class AuditRow:
    timestamp: datetime
    actor: str
    action: str
    subject: str
    changes: list[Change] = field(default_factory=list)
    # The entries of an order's lines saved together, shown as one row that opens to show each line.
    children: list[AuditRow] = field(default_factory=list)


def record_update(obj: Model, changes: dict[str, tuple[object, object]], actor=None) -> None:
    """An audit entry for a change made with a queryset update (which auditlog's signals do not see), e.g. an
    order's state moved by a worker. Without an actor the request's user is taken, or none for a worker."""
    extra = {"actor": actor} if actor is not None and getattr(actor, "is_authenticated", False) else {}
    LogEntry.objects.log_create(
        obj,
        action=LogEntry.Action.UPDATE,
        changes={name: [_blank(old), _blank(new)] for name, (old, new) in changes.items()},
        **extra,
    )


def entries_for(obj: Model):
    """The log entries of an object (and of its children, see CHILDREN), newest first."""
    content_type = ContentType.objects.get_for_model(obj)
    condition = Q(content_type=content_type, object_id=obj.pk)
    child = CHILDREN.get(content_type.natural_key()[0] + "." + content_type.model)
    if child:
        child_model = apps.get_model(child[0])
        condition |= Q(
            content_type=ContentType.objects.get_for_model(child_model),
            **{f"serialized_data__fields__{child[1]}": obj.pk},
        )
    return LogEntry.objects.filter(condition).select_related("actor", "content_type").order_by("-timestamp", "-pk")


def audit_rows(obj: Model, limit: int = 25) -> list[AuditRow]:
    """The changelog of an object, newest first: at most `limit` rows, a child's entries made together in one row."""
    parent_type = _content_type_id(obj)
    rows: list[AuditRow] = []
    for entry in entries_for(obj)[: limit * 4]:
        row = AuditRow(
            timestamp=entry.timestamp,
            actor=entry.actor.get_username() if entry.actor else (entry.actor_email or "system"),
            action=entry.get_action_display(),
            subject=_without_padding_zeros(entry.object_repr) if entry.content_type_id != parent_type else "",
            changes=changes_of(entry),
        )
        if row.subject and rows and _same_burst(rows[-1], row):
            rows[-1].children.append(row)
            continue
        if row.subject:
            row = AuditRow(row.timestamp, row.actor, row.action, "", children=[row])
        if len(rows) == limit:
            break
        rows.append(row)
    for row in rows:
        row.children.sort(key=_position)  # by line number; a line's own entries stay newest first
        if row.children:
            row.action = _children_action(row.children)
    return rows


def changes_of(entry: LogEntry) -> list[Change]:
    """What an entry changed, as a person reads it: labels, Yes/No, numbers without padding zeros; internal fields
    and values that are empty before and after are left out; a new object lists only what it was given."""
    model = entry.content_type.model_class()
    shown = entry.changes_display_dict  # keyed by the fields' verbose names
    changes = []
    for name, values in entry.changes_dict.items():
        if name in HIDDEN_FIELDS:
            continue
        try:
            model_field = model._meta.get_field(name) if model else None
        except FieldDoesNotExist:
            model_field = None
        if model_field is not None and model_field.is_relation and model_field.name in _parent_fields(entry):
            continue
        verbose_name = str(getattr(model_field, "verbose_name", name))
        if isinstance(values, dict):  # a many-to-many change: {"operation": "add", "objects": [...]}
            values = ["", f"{values.get('operation', '')}: {', '.join(map(str, values.get('objects', [])))}"]
            display = values
        else:
            display = shown.get(verbose_name, values)
        old, new = [*_pair(values), "", ""][:2]
        display_old, display_new = [*_pair(display), "", ""][:2]
        old, new = _readable(model_field, old, display_old), _readable(model_field, new, display_new)
        if not old and not new:
            continue
        if entry.action == LogEntry.Action.CREATE and not new:
            continue
        label = (
            FIELD_LABELS.get(f"{entry.content_type.model}.{name}") or FIELD_LABELS.get(name) or capfirst(verbose_name)
        )
        changes.append(Change(label, old, new))
    return changes


# Shown under another name than the model field's ("model.field" for one model's field only).
FIELD_LABELS = {
    "encrypted_secret": "Client secret",
    "salesorder.status": "Status when sent",  # not Visma's status now, which the order page shows as "In Visma"
    "delivery_line1": "Delivery address line 1",
    "delivery_line2": "Delivery address line 2",
    "delivery_line3": "Delivery address line 3",
    "delivery_postal_code": "Delivery postal code",
    "delivery_city": "Delivery city",
    "delivery_country": "Delivery country",
    "delivery_contact_name": "Delivery contact name",
    "delivery_contact_attention": "Delivery attention",
    "delivery_contact_phone": "Delivery contact phone",
    "delivery_contact_email": "Delivery contact e-mail",
}
# Bookkeeping that means nothing to a reader of the trail.
HIDDEN_FIELDS = {"id", "created_at", "updated_at"}


def _parent_fields(entry: LogEntry) -> set[str]:
    """The field linking a child (an order line) to the object whose trail shows it: always the same, so not shown."""
    key = entry.content_type.app_label + "." + entry.content_type.model
    return {field_name for _, (child, field_name) in CHILDREN.items() if child == key}


def _pair(values) -> list[str]:
    return [str(value) for value in values] if isinstance(values, list | tuple) else ["", str(values)]


def _readable(model_field, raw: str, display: str) -> str:
    raw, display = _blank(raw), _blank(display)
    if not raw:
        return ""
    if SECRET_CHANGED in (raw, display):
        return SECRET_CHANGED
    if isinstance(model_field, BooleanField):
        return {"True": "Yes", "False": "No"}.get(raw, raw)
    if isinstance(model_field, DecimalField):
        try:
            return plain(Decimal(raw))
        except InvalidOperation:
            return raw
    return display


_PADDED_NUMBER = re.compile(r"\b(\d+)\.(\d*?)0+\b")


def _without_padding_zeros(text: str) -> str:
    """A line as it was saved ("1. STOCK-100 x 2.0000") reads "1. STOCK-100 x 2"."""
    return _PADDED_NUMBER.sub(lambda m: m[1] + (f".{m[2]}" if m[2] else ""), text)


def _position(child: AuditRow) -> int:
    number = re.match(r"\d+", child.subject)
    return int(number[0]) if number else 0


def _same_burst(previous: AuditRow, row: AuditRow) -> bool:
    """Entries of the same kind of child, by the same person, within a few seconds: one save of the order form."""
    last = previous.children[-1] if previous.children else None
    return (
        last is not None
        and last.actor == row.actor
        and abs((last.timestamp - row.timestamp).total_seconds()) <= BURST_SECONDS
    )


BURST_SECONDS = 5


def _children_action(children: list[AuditRow]) -> str:
    counts: dict[str, int] = {}
    for child in children:
        counts[child.action] = counts.get(child.action, 0) + 1
    words = {"create": "added", "update": "changed", "delete": "removed"}
    ordered = sorted(counts.items(), key=lambda item: list(words).index(item[0]) if item[0] in words else len(words))
    parts = [f"{n} line{pluralize(n)} {words.get(action.lower(), action.lower())}" for action, n in ordered]
    return capfirst(", ".join(parts))


def _content_type_id(obj: Model) -> int:
    return ContentType.objects.get_for_model(obj).pk


def _blank(value) -> str:
    text = "" if value is None else str(value)
    return "" if text == "None" else text
