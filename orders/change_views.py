"""The order page's "Change it in Visma": hold, release and cancel (each confirmed first), details, lines to add and
Visma's lines to change, and the changes asked for so far with how each went. Thin: `orders.changes` decides."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.exact_json import plain

from . import changes, services, visma_status
from .change_forms import DetailsForm, NewLineFormSet, VismaLineFormSet
from .models import OrderChange, SalesOrder
from .numbers import decimal_or_none

Kind = OrderChange.Kind
STATUS_KINDS = (Kind.HOLD, Kind.RELEASE, Kind.CANCEL)
FORM_KINDS = {Kind.EDIT: "details_form", Kind.ADD_LINES: "new_lines", Kind.CHANGE_LINES: "visma_lines"}
BUTTONS = {Kind.HOLD: "Put on hold", Kind.RELEASE: "Release", Kind.CANCEL: "Cancel in Visma"}
CONFIRM = {Kind.HOLD: "Yes, put it on hold", Kind.RELEASE: "Yes, release it", Kind.CANCEL: "Yes, cancel it in Visma"}
SHOWN_CHANGES = 20


def _order(pk: int) -> SalesOrder:
    return get_object_or_404(SalesOrder.objects.select_related("tenant__application", "customer"), pk=pk)


def _change(order: SalesOrder, change_pk: int) -> OrderChange:
    """A change of this order: another order's change id in the URL finds nothing."""
    return get_object_or_404(OrderChange.objects.select_related("created_by"), pk=change_pk, order=order)


@require_GET
@permission_required("orders.view_salesorder", raise_exception=True)
def order_changes(request: HttpRequest, pk: int) -> HttpResponse:
    """The changes card, polled while a change is open; when it settles the page reloads to show all it changed."""
    order = _order(pk)
    context = changes_context(request, order)
    response = render(request, "orders/partials/order_changes.html", context)
    if request.GET.get("was") == "open" and context["open_change"] is None:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@permission_required("orders.add_orderchange", raise_exception=True)
def order_change(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    if kind not in Kind.values:
        raise Http404("No such change.")
    order = _order(pk)
    if order.state != SalesOrder.State.SUBMITTED or not order.visma_number:
        messages.error(
            request, "Nothing was sent to Visma: the order is not in Visma yet, so there is nothing to change."
        )
        return redirect("orders:order-detail", pk=order.pk)
    version = request.POST.get("version", "")[:200]
    if kind in STATUS_KINDS:
        return _status_change(request, order, kind, version)
    if kind == Kind.EDIT:
        form = DetailsForm(request.POST, order=order)
    elif kind == Kind.ADD_LINES:
        form = NewLineFormSet(request.POST, prefix="new")
    else:
        form = VismaLineFormSet(request.POST, order=order, prefix="line")
    refused = ""
    if form.is_valid():
        try:
            changes.request_change(order, kind, form.wanted(), request.user, seen_version=version)
        except changes.ChangeRefused as exc:
            refused = str(exc)
        else:
            messages.success(request, _queued_message(order, kind))
            return redirect("orders:order-detail", pk=order.pk)
    context = changes_context(request, order, bound={FORM_KINDS[kind]: form}, refused=refused, kind=kind)
    return render(request, "orders/order_change_page.html", context)


def _status_change(request: HttpRequest, order: SalesOrder, kind: str, version: str) -> HttpResponse:
    """First a page saying what will happen; the change is asked for only from that page's button."""
    if request.POST.get("confirmed") != "yes":
        if kind not in changes.allowed_kinds(order) or changes.open_change(order) is not None:
            messages.error(request, _not_now(order, kind))
            return redirect("orders:order-detail", pk=order.pk)
        context = {
            "order": order,
            "kind": kind,
            "label": BUTTONS[kind],
            "confirm": CONFIRM[kind],
            "effect": changes.EFFECTS[kind],
            "version": order.visma_etag,  # this page shows Visma's status as now known: its version goes with it
            "status_words": visma_status.words(order.visma_status),
        }
        return render(request, "orders/order_change_confirm.html", context)
    try:
        changes.request_change(order, kind, None, request.user, seen_version=version)
    except changes.ChangeRefused as exc:
        messages.error(request, f"Nothing was sent to Visma. {exc}")
    else:
        messages.success(request, _queued_message(order, kind))
    return redirect("orders:order-detail", pk=order.pk)


def _not_now(order: SalesOrder, kind: str) -> str:
    if changes.open_change(order) is not None:
        return changes.OPEN_CHANGE
    status = visma_status.words(order.visma_status) or "not read yet"
    return f"Visma's status of the order ({status}) does not allow this: {Kind(kind).label.lower()}."


def _queued_message(order: SalesOrder, kind: str) -> str:
    change = order.changes.first()
    if change is not None and change.state == OrderChange.State.APPLIED:  # the worker already ran (or tasks are sync)
        return f"{Kind(kind).label}: done in Visma ({order.visma_label})."
    return f"{Kind(kind).label}: queued; it is sent to Visma in the background and the page shows how it went."


@require_POST
@permission_required("orders.add_orderchange", raise_exception=True)
def change_again(request: HttpRequest, pk: int, change_pk: int) -> HttpResponse:
    """After a conflict: the same change, asked for again on the version of the order just read from Visma."""
    order = _order(pk)
    change = _change(order, change_pk)
    try:
        changes.try_again(change, request.user)
    except changes.ChangeRefused as exc:
        messages.error(request, f"Nothing was sent to Visma. {exc}")
    else:
        messages.success(request, _queued_message(order, change.kind))
    return redirect("orders:order-detail", pk=order.pk)


@require_POST
@permission_required("orders.change_orderchange", raise_exception=True)
def change_drop(request: HttpRequest, pk: int, change_pk: int) -> HttpResponse:
    order = _order(pk)
    change = _change(order, change_pk)
    if changes.drop(change, request.user):
        messages.success(request, f"{change.get_kind_display()}: dropped; Visma's version stays as it is.")
    else:
        messages.info(request, "That change was already decided on.")
    return redirect("orders:order-detail", pk=order.pk)


# --- the card's context --------------------------------------------------------------------------------------------
def changes_context(
    request: HttpRequest, order: SalesOrder, *, bound: dict | None = None, refused: str = "", kind: str = ""
) -> dict:
    """What the changes card shows: the changes so far and, for staff who may change orders, what Visma allows now
    with its forms (`bound`: forms sent back with their errors)."""
    user = request.user
    history = list(order.changes.select_related("created_by")[:SHOWN_CHANGES])
    open_change = next((change for change in history if change.is_open), None)
    blocker = services.send_blocker(order) if order.visma_number else ""
    may_change = user.has_perm("orders.add_orderchange") and open_change is None and not blocker
    kinds = changes.allowed_kinds(order) if may_change else []
    context = {
        "order": order,
        "shown": order.state == SalesOrder.State.SUBMITTED and bool(order.visma_number),
        "history": [_row(change, user) for change in history],
        "open_change": open_change,
        "poll_seconds": _poll_seconds(open_change),
        "send_blocker": blocker,
        "may_change": may_change,
        "may_refresh": user.has_perm("orders.refresh_salesorder"),
        # Visma's lines are changed from the lines the portal read; until then the card says how to read them.
        "lines_unread": Kind.CHANGE_LINES in kinds and not order.visma_lines,
        "status_words": visma_status.words(order.visma_status),
        "closed": order.visma_status in changes.CLOSED_STATUSES,
        "not_changeable": bool(order.visma_status) and order.visma_status not in changes.CHANGEABLE_STATUSES,
        "buttons": [(kind, BUTTONS[kind]) for kind in STATUS_KINDS if kind in kinds],
        "version": order.visma_etag,
        "refused": refused,
        "sent_kind": kind,  # the form that came back: shown open, with its errors
        "details_form": None,
        "new_lines": None,
        "visma_lines": None,
    }
    bound = bound or {}
    if Kind.EDIT in kinds:
        context["details_form"] = bound.get("details_form") or DetailsForm(order=order)
    if Kind.ADD_LINES in kinds:
        context["new_lines"] = bound.get("new_lines") or NewLineFormSet(prefix="new")
    if Kind.CHANGE_LINES in kinds and order.visma_lines:
        context["visma_lines"] = bound.get("visma_lines") or VismaLineFormSet(order=order, prefix="line")
    return context


def _poll_seconds(change: OrderChange | None) -> int:
    """Often while a change is about to go or going out; less often while it waits (a Retry-After, a look later)."""
    if change is None:
        return 0
    soon = change.next_attempt_at is None or change.next_attempt_at <= timezone.now() + timedelta(seconds=30)
    return 2 if soon else 20


def _row(change: OrderChange, user) -> dict:
    deciding = change.state == OrderChange.State.CONFLICT and change.finished_at is None
    return {
        "change": change,
        "what": changes.describe(change),
        "comparison": conflict_rows(change) if change.state == OrderChange.State.CONFLICT else [],
        "can_try_again": deciding and user.has_perm("orders.add_orderchange"),
        "can_drop": deciding and user.has_perm("orders.change_orderchange"),
    }


def conflict_rows(change: OrderChange) -> list[tuple[str, str, str]]:
    """(what, staff wanted, Visma has now) for each thing the change touches, from the order as re-read."""
    now = change.conflict if isinstance(change.conflict, dict) else None
    if now is None:
        return []
    body = change.body or {}
    rows = [("Status", visma_status.words(body.get("status")) if "status" in body else "(no change)", _status(now))]
    if change.kind == Kind.EDIT:
        names = {"description": "Description", "note": "Note", "requestOn": "Requested date"}
        for field, label in names.items():
            if field in body:
                wanted = body[field][:10] if field == "requestOn" else body[field]
                rows.append((label, wanted or "(empty)", now.get(field) or "(empty)"))
    lines = {line.get("lineId"): line for line in now.get("lines") or []}
    if change.kind == Kind.CHANGE_LINES:
        for wanted in body.get("lines") or []:
            have = lines.get(wanted.get("lineId"))
            label = f"Line {wanted.get('lineId')}" + (f" ({have.get('inventoryId')})" if have else "")
            rows.append((label, _line_text(wanted), _line_text(have) if have else "no longer on the order"))
    if change.kind == Kind.ADD_LINES:
        added = "; ".join(f"{line.get('inventoryId')} x {_plain(line.get('quantity'))}" for line in body["lines"])
        rows.append(("Lines", f"add {added}", "; ".join(_line_text(line, item=True) for line in lines.values())))
    return rows


def _status(now: dict) -> str:
    return visma_status.words(now.get("status")) or "unknown"


def _line_text(line: dict, *, item: bool = False) -> str:
    parts = [line.get("inventoryId") or ""] if item else []
    if line.get("quantity") is not None:
        parts.append(f"quantity {_plain(line['quantity'])}")
    if line.get("unitPrice") is not None:
        parts.append(f"price {_plain(line['unitPrice'])}")
    if line.get("description"):
        parts.append(f"“{line['description']}”")
    return ", ".join(part for part in parts if part)


def _plain(value) -> str:
    number = decimal_or_none(value)
    return plain(number) if number is not None else str(value)
