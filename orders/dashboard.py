from __future__ import annotations

from django.db.models import Count, OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core import health
from tenants.models import CustomerSync, Tenant


def dashboard(request: HttpRequest) -> HttpResponse:
    """Per tenant: connection, tokens, last customer sync; and whether the background worker is alive."""
    tenants = []
    if request.user.has_perm("tenants.view_tenant"):
        last_sync = CustomerSync.objects.filter(tenant=OuterRef("pk")).order_by("-started_at")
        tenants = (
            Tenant.objects.filter(active=True)
            .select_related("application")
            .annotate(
                customer_count=Count("customers", filter=Q(customers__removed_at__isnull=True)),
                last_sync_outcome=Subquery(last_sync.values("outcome")[:1]),
                last_sync_at=Subquery(last_sync.values("started_at")[:1]),
                last_sync_error=Subquery(last_sync.values("error")[:1]),
            )
        )
    return render(request, "orders/dashboard.html", {"cluster": health.cluster_status(), "tenants": tenants})
