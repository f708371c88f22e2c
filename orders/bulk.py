"""The orders list's bulk actions: what each would do to the selected orders (asked before anything is done), and
for each order what was done or why it was left alone."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import services
from .models import SalesOrder

State = SalesOrder.State

ACTIONS = {
    "submit": ("Submit", "queued for submission", (State.DRAFT, State.FAILED), "only drafts and failed orders go"),
    "retry": ("Retry", "queued again", (State.FAILED,), "only failed orders are retried"),
    "cancel": ("Cancel", "cancelled", (State.QUEUED,), "only queued orders are cancelled here"),
}


@dataclass(frozen=True)
class Outcome:
    """What the action did to one order (done), or why it left it alone."""

    pk: int
    reference: str
    done: bool
    text: str


@dataclass
class Report:
    action: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def done(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.done]

    @property
    def skipped(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.done]

    @property
    def summary(self) -> str:
        done, skipped = len(self.done), len(self.skipped)
        text = f"{done} order{'s' if done != 1 else ''} {ACTIONS[self.action][1]}"
        return text + (f", {skipped} skipped." if skipped else ".")

    @property
    def level(self) -> str:
        """The colour that fits: success when all were done, warning when some were skipped, danger when none done."""
        if not self.skipped:
            return "success"
        return "warning" if self.done else "danger"

    def as_session(self) -> dict:
        return {"action": self.action, "outcomes": [[o.pk, o.reference, o.done, o.text] for o in self.outcomes]}

    @classmethod
    def from_session(cls, data) -> Report | None:
        try:
            outcomes = [Outcome(int(pk), str(ref), bool(done), str(text)) for pk, ref, done, text in data["outcomes"]]
            return cls(data["action"], outcomes) if data["action"] in ACTIONS else None
        except (KeyError, TypeError, ValueError):
            return None


def skip_reason(action: str, order: SalesOrder) -> str:
    """Why the action would leave this order alone (its state, or a tenant that cannot take orders), or ""."""
    _, _, states, takes = ACTIONS[action]
    if order.state not in states:
        return f"It is {order.get_state_display().lower()}; {takes}."
    if action in ("submit", "retry"):
        return services.send_blocker(order)
    return ""


def apply(action: str, orders, user=None) -> Report:
    """Submit drafts and failed orders (write scope needed), retry failed ones, or cancel queued ones."""
    report = Report(action)
    for order in orders:
        if reason := skip_reason(action, order):
            report.outcomes.append(Outcome(order.pk, order.reference, False, reason))
            continue
        if action == "cancel":
            cancelled, why_not = services.cancel(order, actor=user)
            text = "Cancelled; it will not be sent." if cancelled else why_not
            report.outcomes.append(Outcome(order.pk, order.reference, cancelled, text))
        elif services.queue(order, user):
            report.outcomes.append(Outcome(order.pk, order.reference, True, _queued_text(order)))
        else:
            order.refresh_from_db(fields=["state"])
            text = f"It became {order.get_state_display().lower()} meanwhile and was left as it is."
            report.outcomes.append(Outcome(order.pk, order.reference, False, text))
    return report


def _queued_text(order: SalesOrder) -> str:
    """What is true when the report shows: a worker (or sync tasks) may already have sent it."""
    order.refresh_from_db(fields=["state", "visma_type", "visma_number"])
    if order.state == State.SUBMITTED:
        return f"Sent to Visma as {order.visma_label}."
    if order.state == State.FAILED:
        return "Queued, but Visma did not accept it; the order shows why."
    return "Queued; it is sent to Visma in the background."
