"""The order's timeline beyond Visma's answers: staff editing and (re)submitting the order, the changes they asked
for in Visma and how each went, and what it counts."""

from __future__ import annotations

from dataclasses import dataclass

from .models import SalesOrder, SubmissionAttempt

EDIT = "edit"
QUEUE = "queue"
CHANGE = "change"
VISMA_KINDS = ("post", "lookup")


def record(order: SalesOrder, kind: str, outcome: str, actor) -> None:
    """A staff row on the timeline; only for a signed-in user (a worker or a script has nothing to add here)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return
    SubmissionAttempt.objects.create(order=order, kind=kind, outcome=outcome, actor=actor)


def record_change(change, outcome: str, message: str, *, actor=None, status=None) -> None:
    """A row for a change of the order in Visma: asked for, looked up, applied, refused... Each row names who asked
    for the change (or `actor`, who decided about it), also when a worker writes it."""
    SubmissionAttempt.objects.create(
        order_id=change.order_id,
        kind=CHANGE,
        outcome=outcome,
        message=message[:2000],
        status=status,
        request_id=change.request_id or "",
        actor_id=actor.pk if actor is not None else change.created_by_id,
    )


@dataclass(frozen=True)
class Counts:
    """The timeline's rows by kind: what the order page's "Attempts" shows."""

    sends: int
    lookups: int

    @property
    def label(self) -> str:
        text = f"{self.sends} send{'s' if self.sends != 1 else ''} to Visma"
        if self.lookups:
            text += f", {self.lookups} look-up{'s' if self.lookups != 1 else ''}"
        return text


def counts(rows: list[SubmissionAttempt]) -> Counts:
    return Counts(
        sends=sum(1 for row in rows if row.kind == "post"),
        lookups=sum(1 for row in rows if row.kind == "lookup"),
    )
