from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import DecimalField, F, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from core.listing import page_of
from core.text import querystring_without

from . import customer_listing, sync
from .customer_models import Customer, CustomerSync
from .models import Tenant

AMOUNT = DecimalField(max_digits=30, decimal_places=8)


@require_GET
@permission_required("tenants.view_customer", raise_exception=True)
def customer_list(request: HttpRequest) -> HttpResponse:
    tenants = customer_listing.tenants_with_count(request.GET)
    filters = customer_listing.read_filters(request.GET, tenants)
    sort = customer_listing.sorting(request.GET)
    size = customer_listing.page_size(request.GET)
    customers = customer_listing.filtered(filters).order_by(*sort.order_by())
    count = getattr(filters.tenant, "listed", None)
    rows = Customer.objects.select_related("tenant")
    page = page_of(customers, size, request.GET.get("page"), rows=rows, count=count)
    context = {
        "page": page,
        "tenants": tenants,
        "tenant": filters.tenant,
        "query": filters.query,
        "status": filters.status,
        "state": filters.state,
        "filtered": filters.active,
        "sort": sort,
        "columns": sort.headers,
        "clear_url": "" if sort.is_default else f"?sort={sort.value}",
        "page_size": size,
        "page_sizes": customer_listing.PAGE_SIZES,
        "state_filters": customer_listing.STATE_FILTERS,
        "statuses": customer_listing.STATUSES,
        "querystring": querystring_without(request.GET, "page"),
        "last_sync": sync.last_sync(filters.tenant) if filters.tenant else None,
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
