"""The order's timeline beyond Visma's answers: staff editing and (re)submitting the order, and what it counts."""

from __future__ import annotations

from dataclasses import dataclass

from .models import SalesOrder, SubmissionAttempt

EDIT = "edit"
QUEUE = "queue"
VISMA_KINDS = ("post", "lookup")


def record(order: SalesOrder, kind: str, outcome: str, actor) -> None:
    """A staff row on the timeline; only for a signed-in user (a worker or a script has nothing to add here)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return
    SubmissionAttempt.objects.create(order=order, kind=kind, outcome=outcome, actor=actor)


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
