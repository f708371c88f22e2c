"""What Visma's lines of an order say that the lines the portal sent did not: lines added or removed in Visma, and
quantities, prices or descriptions changed there.

Lines are paired in their order when the item is the same, then by item; a price or description the portal left
to Visma is not compared (Visma fills it in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .models import SalesOrder
from .numbers import decimal_or_none

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass
class Line:
    item: str
    quantity: Decimal | None
    unit_price: Decimal | None
    description: str


@dataclass
class Difference:
    kind: str  # added in Visma, removed in Visma, changed in Visma
    item: str
    sent: Line | None
    visma: Line | None
    changed: list[str] = field(default_factory=list)  # "quantity", "unit price", "description"


def differences(order: SalesOrder) -> list[Difference]:
    """The differences for display; none until Visma's lines have been read (`orders.refresh.refresh_order`)."""
    if not isinstance(order.visma_lines, list):
        return []
    return compare(sent_lines(order), visma_lines(order))


def sent_lines(order: SalesOrder) -> list[Line]:
    """The lines of the last POST, or the order's own lines when nothing was sent."""
    sent = order.sent_payload.get("orderLines") if isinstance(order.sent_payload, dict) else None
    if not isinstance(sent, list):
        return [Line(line.inventory_id, line.quantity, line.unit_price, line.description) for line in order.lines.all()]
    return [
        Line(
            str(line.get("inventoryId") or ""),
            decimal_or_none(line.get("quantity")),
            decimal_or_none(line.get("unitPrice")),
            str(line.get("description") or ""),
        )
        for line in sent
        if isinstance(line, dict)
    ]


def visma_lines(order: SalesOrder) -> list[Line]:
    rows = [row for row in order.visma_lines or [] if isinstance(row, dict)]
    rows.sort(key=lambda row: (_int(row.get("sortOrder")), _int(row.get("lineId"))))
    return [
        Line(
            str(row.get("inventoryId") or ""),
            decimal_or_none(row.get("quantity")),
            decimal_or_none(row.get("unitPrice")),
            str(row.get("description") or ""),
        )
        for row in rows
    ]


def compare(sent: list[Line], visma: list[Line]) -> list[Difference]:
    pairs: dict[int, int] = {}  # sent index -> Visma index
    for index, line in enumerate(sent):
        if index < len(visma) and visma[index].item == line.item:
            pairs[index] = index
    for index, line in enumerate(sent):
        if index in pairs:
            continue
        taken = set(pairs.values())
        match = next((j for j, other in enumerate(visma) if j not in taken and other.item == line.item), None)
        if match is not None:
            pairs[index] = match
    result = []
    for index, line in enumerate(sent):
        if index not in pairs:
            result.append(Difference(REMOVED, line.item, line, None))
            continue
        other = visma[pairs[index]]
        changed = _changes(line, other)
        if changed:
            result.append(Difference(CHANGED, line.item, line, other, changed))
    taken = set(pairs.values())
    result += [Difference(ADDED, line.item, None, line) for j, line in enumerate(visma) if j not in taken]
    return result


def _changes(sent: Line, visma: Line) -> list[str]:
    changed = []
    if sent.quantity != visma.quantity:
        changed.append("quantity")
    if sent.unit_price is not None and sent.unit_price != visma.unit_price:
        changed.append("unit price")
    if sent.description and sent.description != visma.description:
        changed.append("description")
    return changed


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
