"""The home page: is every tenant connected, synced and within its rate limit, which orders need someone, and is the
background worker alive. Everything red links to where it is fixed."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core import health
from tenants import reachability
from tenants.models import ApiCall, CustomerSync, Incident, Tenant

from . import refresh
from .models import SalesOrder

State = SalesOrder.State
SHOWN_STATES = (State.DRAFT, State.QUEUED, State.SUBMITTING, State.SUBMITTED, State.FAILED)
MOVING = (State.QUEUED, State.SUBMITTING)
# An order still submitting this long after it was made is waiting for Visma's answer to be found (lookups failing).
STUCK_AFTER = timedelta(minutes=15)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """A fixed number of queries, however many tenants there are."""
    context = {"cluster": health.cluster_status(), "sweeper": health.sweeper_status(), "tenants": [], "incidents": []}
    if request.user.has_perm("tenants.view_tenant"):
        context["tenants"] = tenant_rows(with_orders=request.user.has_perm("orders.view_salesorder"))
        context["orders_moving"] = any(tenant.orders_moving for tenant in context["tenants"])
        context["incidents"] = list(
            Incident.objects.filter(closed_at__isnull=True).select_related("tenant").order_by("-opened_at")[:20]
        )
    context["order_states"] = [(state.value, state.label) for state in SHOWN_STATES]
    context["refresh_cost"] = refresh_cost(context["tenants"])
    return render(request, "orders/dashboard.html", context)


def tenant_rows(*, with_orders: bool) -> list[Tenant]:
    last_sync = CustomerSync.objects.filter(tenant=OuterRef("pk")).order_by("-started_at")
    last_budget = ApiCall.objects.filter(
        tenant=OuterRef("pk"), kind=ApiCall.Kind.API, rate_limit_remaining__isnull=False
    ).order_by("-started_at", "-pk")
    refresh_calls = (  # the order refresh's list calls of the last hour, from the API log
        ApiCall.objects.filter(
            tenant=OuterRef("pk"),
            kind=ApiCall.Kind.API,
            context=refresh.CONTEXT,
            started_at__gte=timezone.now() - timedelta(hours=1),
        )
        .order_by()
        .values("tenant")
        .annotate(n=Count("pk"))
    )
    tenants = list(
        Tenant.objects.filter(active=True)
        .select_related("application")
        .annotate(
            customer_count=Count("customers", filter=Q(customers__removed_at__isnull=True)),
            last_sync_id=Subquery(last_sync.values("pk")[:1]),
            last_sync_outcome=Subquery(last_sync.values("outcome")[:1]),
            last_sync_at=Subquery(last_sync.values("started_at")[:1]),
            last_sync_error=Subquery(last_sync.values("error")[:1]),
            rate_remaining=Subquery(last_budget.values("rate_limit_remaining")[:1]),
            rate_limit=Subquery(last_budget.values("rate_limit_limit")[:1]),
            rate_reset_at=Subquery(last_budget.values("rate_limit_reset_at")[:1]),
            api_calls_made=Exists(ApiCall.objects.filter(tenant=OuterRef("pk"), kind=ApiCall.Kind.API)),
            follows_orders=Exists(SalesOrder.objects.filter(refresh.followed(), tenant=OuterRef("pk"))),
            refresh_calls=Subquery(refresh_calls.values("n")[:1]),
        )
    )
    add_order_summary(tenants, with_orders=with_orders)
    now = timezone.now()
    for tenant in tenants:
        tenant.rate_budget = _budget(tenant, now)
        tenant.unreachable = reachability.describe(tenant)
    return tenants


def refresh_cost(tenants: list[Tenant]) -> dict:
    """What following orders costs of Visma's rate limit: one list call per interval for each tenant with orders to
    follow (more when a list has several pages), and what the API log counted in the last hour."""
    following = [tenant for tenant in tenants if tenant.follows_orders]
    per_tenant = refresh.list_calls_per_hour()
    return {
        "tenants": len(following),
        "per_tenant": per_tenant,
        "per_hour": per_tenant * len(following),
        "last_hour": sum(tenant.refresh_calls or 0 for tenant in tenants),
        "minutes": refresh.interval_minutes(),
    }


def add_order_summary(tenants: list[Tenant], *, with_orders: bool) -> bool:
    """Set each tenant's order counts per state, failed and stuck orders (one query for all tenants); True while any
    of their orders is queued or submitting, so the page keeps them fresh."""
    counts: dict[int, dict[str, int]] = {}
    stuck: dict[int, int] = {}
    if with_orders and tenants:
        long_ago = timezone.now() - STUCK_AFTER
        rows = (
            SalesOrder.objects.filter(tenant__in=[t.pk for t in tenants])
            .order_by()
            .values_list("tenant_id", "state")
            .annotate(n=Count("pk"), stuck=Count("pk", filter=Q(state=State.SUBMITTING, created_at__lt=long_ago)))
        )
        for tenant_id, state, n, stuck_here in rows:
            counts.setdefault(tenant_id, {})[state] = n
            stuck[tenant_id] = stuck.get(tenant_id, 0) + stuck_here
    for tenant in tenants:
        by_state = counts.get(tenant.pk, {})
        tenant.order_counts = [(state.value, state.label, by_state.get(state.value, 0)) for state in SHOWN_STATES]
        tenant.failed_orders = by_state.get(State.FAILED, 0)
        tenant.stuck_orders = stuck.get(tenant.pk, 0)
        tenant.order_total = sum(by_state.values())
        tenant.show_orders = with_orders
        tenant.orders_moving = any(by_state.get(state, 0) for state in MOVING)
    return any(tenant.orders_moving for tenant in tenants)


@require_GET
def dashboard_orders(request: HttpRequest) -> HttpResponse:
    """Each active tenant's order counts, polled by the dashboard while any order is queued or submitting."""
    if not (request.user.has_perm("tenants.view_tenant") and request.user.has_perm("orders.view_salesorder")):
        raise PermissionDenied
    tenants = list(Tenant.objects.filter(active=True).only("pk", "name"))
    moving = add_order_summary(tenants, with_orders=True)
    return render(request, "orders/partials/dashboard_orders_live.html", {"tenants": tenants, "orders_moving": moving})


def _budget(tenant: Tenant, now) -> dict | None:
    """What is left of Visma's rate limit in the current window, from the latest call that reported it."""
    if tenant.rate_remaining is None:
        return None
    if tenant.rate_reset_at and tenant.rate_reset_at <= now:
        return {"remaining": tenant.rate_limit, "limit": tenant.rate_limit, "fresh": True, "low": False}
    low = bool(tenant.rate_limit) and tenant.rate_remaining < max(1, tenant.rate_limit // 10)
    return {"remaining": tenant.rate_remaining, "limit": tenant.rate_limit, "fresh": False, "low": low}
