"""What Visma says of orders it has: the orders list's live Visma status cells, and the order page's "In Visma"
panel with Refresh now."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from . import listing, refresh
from .models import SalesOrder


@require_GET
@permission_required("orders.view_salesorder", raise_exception=True)
def order_list_visma(request: HttpRequest) -> HttpResponse:
    """The Visma status of the followed orders on a list page, polled slowly while the page shows any."""
    orders = listing.moving(listing.poll_ids(request.GET.get("ids")))
    context = {"orders": orders, "followed_ids": listing.followed_ids(orders)}
    return render(request, "orders/partials/list_visma.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("orders.view_salesorder", raise_exception=True)
def order_visma(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the "In Visma" panel as the portal last read it (polled while the order is followed). POST (Refresh
    now): read the order from Visma first; what Visma said when it could not be read is shown in the panel, and the
    outcome goes to the page's status region for screen readers (the panel itself is replaced, so it cannot say it)."""
    if request.method == "POST" and not request.user.has_perm("orders.refresh_salesorder"):
        raise PermissionDenied
    order = get_object_or_404(SalesOrder.objects.select_related("tenant__application", "customer"), pk=pk)
    problem = ""
    if request.method == "POST":
        problem = refresh.refresh_order(order, request.user)
        if not request.htmx:
            if problem:
                messages.error(request, f"Order {order.reference} could not be read from Visma. {problem}")
            else:
                messages.success(request, f"Order {order.reference} was read from Visma just now.")
            return redirect("orders:order-detail", pk=order.pk)
    context = {"order": order, "visma_error": problem, "announce": request.method == "POST"}
    return render(request, "orders/partials/visma_panel.html", context)
