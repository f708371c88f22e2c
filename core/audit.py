"""The audit trail (django-auditlog): what changed on applications, tenants, orders and users, by whom, and when.

Which models and fields are recorded is set in `AUDITLOG_INCLUDE_TRACKING_MODELS` (settings). A secret or a password
hash is recorded as "secret changed" through `secret_changed`, so no value of either ever reaches an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from auditlog.models import LogEntry
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q

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
    rows = []
    for entry in entries_for(obj)[:limit]:
        changes = []
        for label, values in entry.changes_display_dict.items():
            old, new = [*values, "", ""][:2] if isinstance(values, list | tuple) else ("", str(values))
            changes.append(Change(str(label), _blank(old), _blank(new)))
        rows.append(
            AuditRow(
                timestamp=entry.timestamp,
                actor=entry.actor.get_username() if entry.actor else (entry.actor_email or "system"),
                action=entry.get_action_display(),
                subject=entry.object_repr if entry.content_type_id != _content_type_id(obj) else "",
                changes=changes,
            )
        )
    return rows


def _content_type_id(obj: Model) -> int:
    return ContentType.objects.get_for_model(obj).pk


def _blank(value) -> str:
    text = "" if value is None else str(value)
    return "" if text == "None" else text
