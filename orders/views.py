"""Order screens: list, build (header + lines), detail with live state, and the actions allowed at each state."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.money import currency_of
from core.text import querystring_without, search_text
from tenants.inventory import item_suggestions
from tenants.locations import delivery_locations
from tenants.models import Customer, Tenant

from . import bulk, editing, errors, listing, payload, services, timeline, visma_status
from .forms import (
    CUSTOMER_CHOICES_SHOWN,
    CUSTOMER_SEARCH,
    MAX_LINES,
    BulkActionForm,
    LineFormSet,
    SalesOrderForm,
    active_customers,
    error_summary,
    mark_invalid,
)
from .forms import empty_line_form as new_line_form
from .models import SalesOrder

logger = logging.getLogger(__name__)
State = SalesOrder.State
PAGE_SIZE = 50
LOCATION_ID_MAX = SalesOrder._meta.get_field("location_id").max_length


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _order(pk: int) -> SalesOrder:
    return get_object_or_404(SalesOrder.objects.select_related("tenant__application", "customer"), pk=pk)


# --- list ----------------------------------------------------------------------------------------------------------
@require_GET
@permission_required("orders.view_salesorder", raise_exception=True)
def order_list(request: HttpRequest) -> HttpResponse:
    tenants = list(Tenant.objects.order_by("name"))
    filters = listing.read_filters(request.GET, tenants)
    sort = listing.sorting(request.GET)
    counts = listing.state_counts(listing.filtered(filters))
    page = listing.orders_page(filters, sort, request.GET.get("page"), counts)
    report_data = request.session.pop(BULK_REPORT, None)
    report = bulk.Report.from_session(report_data) if report_data else None
    context = {
        "page": page,
        "tenants": tenants,
        "tenant": filters.tenant,
        "customer": filters.customer,
        "query": filters.query,
        "state": filters.state,
        "dates": filters.dates,
        "filtered": filters.active,
        "sort": sort,
        "columns": sort.headers,
        "states": [(value, label, counts.get(value, 0)) for value, label in State.choices],
        "total_count": sum(counts.values()),
        "querystring": querystring_without(request.GET, "page"),
        "state_querystring": querystring_without(request.GET, "page", "state"),
        "clear_url": "" if sort.is_default else f"?sort={sort.value}",
        "moving_ids": ",".join(str(order.pk) for order in page.object_list if order.is_in_flight),
        "followed_ids": listing.followed_ids(page.object_list),
        "visma_status": filters.visma_status,
        "visma_statuses": visma_status.choices(),
        "bulk_actions": BulkActionForm.ACTIONS,
        "bulk_report": report,
        "can_submit": request.user.has_perm("orders.submit_salesorder"),
        "can_change": request.user.has_perm("orders.change_salesorder"),
    }
    return render(request, "orders/order_list.html", context)


@require_GET
@permission_required("orders.view_salesorder", raise_exception=True)
def order_list_states(request: HttpRequest) -> HttpResponse:
    """The live state and Visma number of the in-flight orders on a list page; polled while any of them moves."""
    orders = listing.moving(listing.poll_ids(request.GET.get("ids")))
    still = ",".join(str(order.pk) for order in orders if order.is_in_flight)
    return render(request, "orders/partials/list_states.html", {"orders": orders, "moving_ids": still})


BULK_REPORT = "orders-bulk-report"


@require_POST
@permission_required("orders.change_salesorder", raise_exception=True)
def order_bulk(request: HttpRequest) -> HttpResponse:
    """First the confirmation (how many orders, which action, which would be skipped and why), then the action and a
    report of what was done to each order, shown on the list it came from."""
    form = BulkActionForm(request.POST)
    back = request.POST.get("next", "")
    back = back if back.startswith("?") else ""
    list_url = reverse("orders:order-list") + back
    if not form.is_valid():
        problems = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Nothing was done: {problems}")
        return redirect(list_url)
    action = form.cleaned_data["action"]
    if action in ("submit", "retry") and not request.user.has_perm("orders.submit_salesorder"):
        raise PermissionDenied
    orders = list(
        SalesOrder.objects.filter(pk__in=form.cleaned_data["orders"])
        .select_related("tenant__application")
        .order_by("pk")
    )
    if not orders:
        messages.error(request, "Nothing was done: the selected orders no longer exist.")
        return redirect(list_url)
    if request.POST.get("confirmed") != "yes":
        rows = [(order, bulk.skip_reason(action, order)) for order in orders]
        context = {
            "action": action,
            "action_label": bulk.ACTIONS[action][0],
            "rows": rows,
            "will_do": sum(1 for _, reason in rows if not reason),
            "back": back,
            "list_url": list_url,
        }
        return render(request, "orders/order_bulk_confirm.html", context)
    report = bulk.apply(action, orders, request.user)
    request.session[BULK_REPORT] = report.as_session()
    return redirect(list_url)


# --- build and edit ------------------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@permission_required("orders.add_salesorder", raise_exception=True)
def order_create(request: HttpRequest) -> HttpResponse:
    """A new order for a tenant (chosen first), a customer (from its page), or as a copy of another order."""
    customer = source = None
    if source_pk := _int(request.GET.get("copy")):
        source = _order(source_pk)
    elif customer_pk := _int(request.GET.get("customer")):
        customer = get_object_or_404(Customer.objects.select_related("tenant"), pk=customer_pk)
    if source:
        tenant_pk = source.tenant_id
    else:
        tenant_pk = customer.tenant_id if customer else _int(request.GET.get("tenant") or request.POST.get("tenant"))
    tenant = Tenant.objects.filter(pk=tenant_pk, active=True).select_related("application").first()
    if tenant is None:
        return _choose_tenant(request)
    order = SalesOrder(tenant=tenant)
    if source:
        initial, lines = editing.copy_initial(source)
        return _order_form(request, order, initial, lines, copied_from=source)
    initial = {"customer": customer} if customer and customer.is_active else {}
    return _order_form(request, order, initial)


def _choose_tenant(request: HttpRequest) -> HttpResponse:
    """Every tenant, each marked with what keeps it from taking orders now; deactivated ones cannot be chosen."""
    active = Q(customers__removed_at__isnull=True, customers__status__iexact="active")
    tenants = (
        Tenant.objects.select_related("application")
        .annotate(active_customers=Count("customers", filter=active))
        .order_by("-active", "name")
    )
    choices = [(tenant, editing.intake(tenant, tenant.active_customers)) for tenant in tenants]
    return render(request, "orders/order_choose_tenant.html", {"choices": choices})


@require_http_methods(["GET", "POST"])
@permission_required("orders.change_salesorder", raise_exception=True)
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(pk)
    if not order.is_editable:
        messages.info(request, f"Order {order.reference} is {order.get_state_display().lower()}; it cannot be edited.")
        return redirect("orders:order-detail", pk=order.pk)
    return _order_form(request, order, {})


def _order_form(
    request: HttpRequest,
    order: SalesOrder,
    initial: dict,
    initial_lines: list[dict] | None = None,
    copied_from: SalesOrder | None = None,
) -> HttpResponse:
    tenant = order.tenant
    submitting = request.method == "POST" and request.POST.get("action") == "submit"
    if submitting and not request.user.has_perm("orders.submit_salesorder"):
        raise PermissionDenied
    form_token = request.POST.get("form_token") or uuid.uuid4().hex
    customer_count = active_customers(tenant).count()
    intake = editing.intake(tenant, customer_count)
    blocker = intake.send_blocker
    if request.method == "POST":
        form = SalesOrderForm(request.POST, instance=order, tenant=tenant)
        formset = LineFormSet(request.POST, instance=order, prefix="lines")
    else:
        form = SalesOrderForm(instance=order, initial=initial, tenant=tenant)
        formset = LineFormSet(instance=order, prefix="lines", initial=initial_lines)
        if initial_lines:
            formset.extra = max(len(initial_lines) - formset.min_num, 0)
    if services.outcome_was_unknown(order):
        form.fields["customer"].disabled = True  # the lookup in Visma searches this customer's orders
    if request.method == "POST" and intake.draft_blocker:
        form.add_error(None, intake.draft_blocker)
    elif request.method == "POST" and form.is_valid() and formset.is_valid():
        is_new = not order.pk
        try:
            if is_new and (earlier := _claim_form_token(form_token)):
                return redirect("orders:order-detail", pk=earlier)
            order = editing.save(form.save(commit=False), formset.kept_lines(), request.user)
        except editing.NotEditable as exc:
            messages.error(request, str(exc))
            return redirect("orders:order-detail", pk=order.pk)
        except FormSentTwice:
            form.add_error(None, SENT_TWICE)
        except DatabaseError:
            logger.exception("Order %s could not be saved", order.reference)
            form.add_error(None, NOT_SAVED)
        else:
            if is_new:
                cache.set(_form_token_key(form_token), order.pk, FORM_TOKEN_SECONDS)
            if submitting and blocker:
                messages.warning(request, f"Order {order.reference} was saved but not sent. {blocker}")
            elif submitting:
                _queue(request, order)
            else:
                messages.success(request, f"Order {order.reference} saved as {order.get_state_display().lower()}.")
            return redirect("orders:order-detail", pk=order.pk)
        if is_new:
            order.pk = None  # a save that failed half-way may have numbered it; the form stays a new order's
            form_token = uuid.uuid4().hex
    header_problems, line_problems = errors.by_field(order) if order.state == State.FAILED else ({}, {})
    mark_invalid(form, header_problems)
    rows = []
    for index, line_form in enumerate(formset.forms):
        visma = line_problems.get(index + 1, {})
        mark_invalid(line_form, visma)
        rows.append((line_form, visma.get("general", []), visma))
    context = {
        "order": order,
        "tenant": tenant,
        "form_token": form_token,
        "form": form,
        "formset": formset,
        "rows": rows,
        "header_problems": header_problems,
        "error_summary": error_summary(form, formset) if request.method == "POST" else [],
        "next_index": len(formset.forms),
        "can_submit": request.user.has_perm("orders.submit_salesorder") and not blocker,
        "send_blocker": blocker,
        "draft_blocker": intake.draft_blocker,
        "customer_count": customer_count,
        "customer_search": CUSTOMER_SEARCH,
        "copied_from": copied_from,
        "location": location_context(
            form.chosen_customer,
            str(form["location_id"].value() or "")[:LOCATION_ID_MAX],
            invalid=bool(form["location_id"].errors or header_problems.get("location_id")),
        ),
        "currency": currency_of(form.chosen_customer, tenant),
        "customer_currency": bool(form.chosen_customer and form.chosen_customer.currency.strip()),
    }
    return render(request, "orders/order_form.html", context)


FORM_TOKEN_SECONDS = 3600


def _form_token_key(token: str) -> str:
    return f"order-form:{token}"


class FormSentTwice(Exception):
    """Another POST of the same new-order form claimed it and has not saved an order (yet)."""


def _claim_form_token(token: str) -> int | None:
    """A new-order form is saved once: a second POST of the same form (a double click, a resend after a timeout)
    leads to the order the first one made instead of making another.

    None when this POST may save the order, else the order the first POST made. Raises FormSentTwice while the
    first has not finished (or if it failed), DatabaseError when the token cannot be stored: the database cache
    answers a write it could not make with False, as if the token were taken.
    """
    if not (len(token) == 32 and all(ch in "0123456789abcdef" for ch in token)):
        return None
    try:
        if cache.add(_form_token_key(token), 0, FORM_TOKEN_SECONDS):
            return None
        earlier = cache.get(_form_token_key(token))
    except Exception as exc:  # a cache server that is down (Redis) is the same trouble: nothing is saved
        raise DatabaseError("The new-order form's token could not be stored.") from exc
    if earlier is None:
        raise DatabaseError("The new-order form's token could not be stored.")
    if not earlier:
        raise FormSentTwice
    return earlier


NOT_SAVED = (
    "Nothing was saved: the database could not be written just now. What you typed is still here; "
    "try again in a moment."
)
SENT_TWICE = (
    "This form was sent twice and the first one has not finished saving, or could not be saved. Look for the "
    "order in the orders list before saving it again."
)


def _require_order_editor(user) -> None:
    """The order form's helpers serve whoever may build or edit orders."""
    if not (user.has_perm("orders.add_salesorder") or user.has_perm("orders.change_salesorder")):
        raise PermissionDenied


@require_GET
def line_form(request: HttpRequest) -> HttpResponse:
    _require_order_editor(request.user)
    index = _int(request.GET.get("index"))
    if index is None or not 0 <= index < MAX_LINES:
        raise Http404("No such line.")
    context = {"line_form": new_line_form(index), "index": index, "next_index": index + 1}
    return render(request, "orders/partials/line_added.html", context)


@require_GET
@permission_required("tenants.view_customer", raise_exception=True)
def customer_options(request: HttpRequest) -> HttpResponse:
    """The customer picker's options: the tenant's active customers matching what was typed."""
    tenant = get_object_or_404(Tenant, pk=_int(request.GET.get("tenant")) or 0)
    query = search_text(request.GET.get("q"))
    customers = active_customers(tenant)
    if query:
        customers = customers.filter(Q(number__icontains=query) | Q(name__icontains=query))
    shown = list(customers.order_by("number")[: CUSTOMER_CHOICES_SHOWN + 1])
    context = {
        "customers": shown[:CUSTOMER_CHOICES_SHOWN],
        "more": len(shown) > CUSTOMER_CHOICES_SHOWN,
        "query": query,
        "limit": CUSTOMER_CHOICES_SHOWN,
    }
    return render(request, "orders/partials/customer_options.html", context)


@require_GET
def inventory_options(request: HttpRequest) -> HttpResponse:
    """The items the lines' pickers suggest, from the tenant's inventory in Visma (cached)."""
    _require_order_editor(request.user)
    tenant = get_object_or_404(Tenant.objects.select_related("application"), pk=_int(request.GET.get("tenant")) or 0)
    items, problem = item_suggestions(tenant)
    return render(request, "orders/partials/inventory_options.html", {"items": items, "problem": problem})


@require_GET
def location_options(request: HttpRequest) -> HttpResponse:
    """The delivery location picker for the customer picked on the order form, from Visma (cached). The location
    chosen so far stays chosen while the customer is the one it was chosen for."""
    _require_order_editor(request.user)
    tenant = get_object_or_404(Tenant.objects.select_related("application"), pk=_int(request.GET.get("tenant")) or 0)
    customer = _picked_customer(tenant, request.GET.get("customer"))
    locations, problem = delivery_locations(tenant, customer, request.user) if customer else ([], "")
    same_customer = customer is not None and request.GET.get("location_customer") == str(customer.pk)
    selected = request.GET.get("location_id", "")[:LOCATION_ID_MAX] if same_customer else ""
    context = location_context(customer, selected, locations, problem, loaded=customer is not None and not problem)
    return render(request, "orders/partials/location_options.html", context)


def location_context(customer, selected: str, locations=(), problem: str = "", *, loaded=False, invalid=False) -> dict:
    """What the location picker shows; a chosen location Visma does not list (or did not list yet) stays chosen."""
    return {
        "customer": customer,
        "selected": selected,
        "selected_listed": any(location["id"] == selected for location in locations),
        "locations": locations,
        "problem": problem,
        "loaded": loaded,
        "invalid": invalid,
    }


def _picked_customer(tenant: Tenant, value) -> Customer | None:
    pk = _int(value)
    if pk is None or not 0 < pk < 2**63:
        return None
    return active_customers(tenant).filter(pk=pk).first()


# --- one order -----------------------------------------------------------------------------------------------------
@require_GET
@permission_required("orders.view_salesorder", raise_exception=True)
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(pk)
    lines = list(order.lines.all())
    body = order.sent_payload if order.sent_payload is not None else payload.build(order)
    attempts = list(order.attempts_log.select_related("actor"))
    context = {
        "order": order,
        "lines": lines,
        "total": sum((line.amount for line in lines if line.amount is not None), 0),
        "priced_lines": sum(1 for line in lines if line.unit_price is not None),
        "payload_json": payload.to_json(body, indent=2),
        "payload_sent": order.sent_payload is not None,
        "attempts": attempts,
        "attempt_counts": timeline.counts(attempts),
        **_state_context(request, order),
    }
    context["problem_lines"] = {problem.line for problem in context["problems"] if problem.line is not None}
    return render(request, "orders/order_detail.html", context)


@require_GET
@permission_required("orders.view_salesorder", raise_exception=True)
def order_state(request: HttpRequest, pk: int) -> HttpResponse:
    """The live state card. When the order settles after being in flight, the whole page reloads to show it all."""
    order = _order(pk)
    response = render(request, "orders/partials/order_state.html", _state_context(request, order))
    was, attempts = request.GET.get("was"), request.GET.get("attempts")
    if was in (State.QUEUED, State.SUBMITTING) and (was != order.state or attempts != str(order.attempts)):
        response["HX-Refresh"] = "true"  # something happened: reload so the timeline and details show it
    return response


def _state_context(request: HttpRequest, order: SalesOrder) -> dict:
    user = request.user
    now = timezone.now()
    soon = order.next_attempt_at is None or order.next_attempt_at <= now + timedelta(seconds=30)
    resend_at = services.resend_allowed_at(order) if order.state in (State.SUBMITTING, State.FAILED) else None
    unknown = resend_at is not None
    # While submitting: the newest timeline row says whether a POST is out right now or what the last look-up found.
    visma_rows = order.attempts_log.filter(kind__in=timeline.VISMA_KINDS)
    latest = visma_rows.order_by("-pk").first() if order.state == State.SUBMITTING else None
    sending = latest is not None and latest.kind == "post" and latest.outcome == services.IN_FLIGHT
    looking_up = unknown and order.state == State.SUBMITTING and not sending
    next_look = order.next_attempt_at if looking_up and order.next_attempt_at and order.next_attempt_at > now else None
    blocker = services.send_blocker(order)
    return {
        "order": order,
        "poll_seconds": 2 if order.state == State.SUBMITTING or soon else 20,
        "now": now,
        "looking_up": looking_up,
        "last_lookup": latest.outcome if looking_up and latest and latest.kind == "lookup" else "",
        "next_look": next_look,
        "problems": errors.problems(order) if order.state == State.FAILED else [],
        "outcome_unknown": unknown and order.state == State.FAILED,
        "resend_at": resend_at if resend_at and resend_at > now else None,
        "send_blocker": blocker,
        "can_submit": user.has_perm("orders.submit_salesorder") and order.is_submittable and not blocker,
        "can_edit": user.has_perm("orders.change_salesorder") and order.is_editable,
        "can_cancel": user.has_perm("orders.change_salesorder") and order.is_cancellable,
        "can_copy": user.has_perm("orders.add_salesorder"),
    }


@require_POST
@permission_required("orders.submit_salesorder", raise_exception=True)
def order_submit(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(pk)
    if blocker := services.send_blocker(order):
        messages.error(request, f"Order {order.reference} was not sent. {blocker}")
    else:
        _queue(request, order)
    return redirect("orders:order-detail", pk=order.pk)


def _queue(request: HttpRequest, order: SalesOrder) -> None:
    if services.queue(order, request.user):
        # The task may already have finished (a fast worker, or sync tasks): say what is true when the page shows.
        order.refresh_from_db()
        if order.state == State.SUBMITTED:
            messages.success(request, f"Order {order.reference} was sent to Visma as {order.visma_label}.")
        elif order.state == State.FAILED:
            messages.error(request, f"Order {order.reference} was not accepted by Visma; see why below.")
        else:
            messages.success(
                request,
                f"Order {order.reference} is queued; it is sent to Visma in the background and its state "
                "below updates by itself.",
            )
    else:
        order.refresh_from_db()
        messages.info(request, f"Order {order.reference} is already {order.get_state_display().lower()}.")


@require_POST
@permission_required("orders.change_salesorder", raise_exception=True)
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(pk)
    cancelled, why_not = services.cancel(order, actor=request.user)
    if cancelled:
        messages.success(request, f"Order {order.reference} is cancelled; it will not be sent.")
    else:
        messages.error(request, f"Order {order.reference} was not cancelled. {why_not}")
    return redirect("orders:order-detail", pk=order.pk)


@require_POST
@permission_required("orders.add_salesorder", raise_exception=True)
def order_copy(request: HttpRequest, pk: int) -> HttpResponse:
    """Copy order: a new-order form filled from this order; nothing is saved until staff save that form."""
    source = _order(pk)
    return redirect(reverse("orders:order-create") + f"?copy={source.pk}")
