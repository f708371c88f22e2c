from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import DecimalField, F, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from core.text import querystring_without, search_text

from . import sync
from .customer_models import Customer, CustomerSync
from .models import Tenant

SORTS = {
    "number": "number",
    "-number": "-number",
    "name": "name",
    "-name": "-name",
    "status": "status",
    "-status": "-status",
    "tenant": "tenant__name",
    "-tenant": "-tenant__name",
    "seen": "last_seen_at",
    "-seen": "-last_seen_at",
}
PAGE_SIZES = (25, 50, 100, 200)
STATE_FILTERS = {"active": "In Visma", "removed": "Removed in Visma"}
AMOUNT = DecimalField(max_digits=30, decimal_places=8)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


@require_GET
@permission_required("tenants.view_customer", raise_exception=True)
def customer_list(request: HttpRequest) -> HttpResponse:
    tenants = list(Tenant.objects.filter(active=True).order_by("name"))
    tenant = next((t for t in tenants if str(t.pk) == request.GET.get("tenant")), None)
    query = search_text(request.GET.get("q"))
    status = request.GET.get("status", "")[:30]
    state = request.GET.get("state", "active")
    sort = request.GET.get("sort", "number")
    if sort not in SORTS:
        sort = "number"
    page_size = _int(request.GET.get("size"), 50)
    if page_size not in PAGE_SIZES:
        page_size = 50

    customers = Customer.objects.select_related("tenant")
    if tenant:
        customers = customers.filter(tenant=tenant)
    if query:
        customers = customers.filter(Q(number__icontains=query) | Q(name__icontains=query))
    if status:
        customers = customers.filter(status__iexact=status)
    if state == "active":
        customers = customers.filter(removed_at__isnull=True)
    elif state == "removed":
        customers = customers.filter(removed_at__isnull=False)
    customers = customers.order_by(SORTS[sort], "pk")
    page = Paginator(customers, page_size).get_page(request.GET.get("page"))

    context = {
        "page": page,
        "tenants": tenants,
        "tenant": tenant,
        "query": query,
        "status": status,
        "state": state,
        "sort": sort,
        "page_size": page_size,
        "page_sizes": PAGE_SIZES,
        "state_filters": STATE_FILTERS,
        "statuses": ("Active", "OnHold", "CreditHold", "Inactive", "OneTime"),
        "querystring": querystring_without(request.GET, "page"),
        "sort_querystring": querystring_without(request.GET, "page", "sort"),
        "last_sync": sync.last_sync(tenant) if tenant else None,
    }
    return render(request, "tenants/customer_list.html", context)


@require_GET
@permission_required("tenants.view_customer", raise_exception=True)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer.objects.select_related("tenant__application"), pk=pk)
    # Related name from the orders app; the template only reads it, so tenants still imports nothing of orders.
    # Lines without a price (Visma prices them) add nothing; an order with none priced has no total (None).
    amount = Sum(F("lines__quantity") * F("lines__unit_price"), output_field=AMOUNT)
    orders = customer.sales_orders.annotate(total=amount).order_by("-created_at")[:50]
    return render(request, "tenants/customer_detail.html", {"customer": customer, "orders": orders})


@require_POST
@permission_required("tenants.sync_customers", raise_exception=True)
def sync_start(request: HttpRequest, pk: int) -> HttpResponse:
    tenant = get_object_or_404(Tenant, pk=pk)
    if not tenant.active or not tenant.application.active:
        messages.error(request, f"{tenant.name} is deactivated; reactivate it before syncing customers.")
    elif not tenant.can_read:
        messages.error(request, f"{tenant.name} has not approved the read scope; its customers cannot be fetched.")
    else:
        try:
            sync.start_sync(tenant, trigger=CustomerSync.Trigger.MANUAL, user=request.user)
            messages.success(request, f"Customer sync of {tenant.name} started.")
        except sync.SyncAlreadyRunning as exc:
            messages.info(request, str(exc))
    if request.htmx:
        return _status(request, tenant)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = f"{reverse('tenants:customer-list')}?tenant={tenant.pk}"
    return redirect(next_url)


@require_GET
@permission_required("tenants.view_customer", raise_exception=True)
def sync_status(request: HttpRequest, pk: int) -> HttpResponse:
    return _status(request, get_object_or_404(Tenant, pk=pk))


def _status(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    context = {"tenant": tenant, "last_sync": sync.last_sync(tenant), "show_messages": True}
    return render(request, "tenants/partials/sync_status.html", context)
