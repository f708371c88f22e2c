from __future__ import annotations

from django.urls import path

from . import customer_views

app_name = "tenants"

urlpatterns = [
    path("customers/", customer_views.customer_list, name="customer-list"),
    path("customers/<int:pk>/", customer_views.customer_detail, name="customer-detail"),
    path("<int:pk>/sync/", customer_views.sync_start, name="sync-start"),
    path("<int:pk>/sync/status/", customer_views.sync_status, name="sync-status"),
]
