from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core import health


def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/dashboard.html", {"cluster": health.cluster_status()})
