from __future__ import annotations

from django.urls import path

from orders import webhook_views

from . import api_log_views, customer_views, views

app_name = "tenants"

urlpatterns = [
    path("", views.tenant_list, name="tenant-list"),
    path("new/", views.tenant_create, name="tenant-create"),
    path("<int:pk>/", views.tenant_detail, name="tenant-detail"),
    path("<int:pk>/edit/", views.tenant_edit, name="tenant-edit"),
    path("<int:pk>/deactivate/", views.tenant_deactivate, name="tenant-deactivate"),
    path("<int:pk>/check/", views.tenant_check, name="tenant-check"),
    path("<int:pk>/sync/", customer_views.sync_start, name="sync-start"),
    path("<int:pk>/sync/status/", customer_views.sync_status, name="sync-status"),
    path("applications/new/", views.application_create, name="application-create"),
    path("applications/<int:pk>/", views.application_detail, name="application-detail"),
    path("applications/<int:pk>/edit/", views.application_edit, name="application-edit"),
    path("applications/<int:pk>/deactivate/", views.application_deactivate, name="application-deactivate"),
    path("applications/<int:pk>/webhook/rotate/", webhook_views.rotate_webhook, name="application-rotate-webhook"),
    path("customers/", customer_views.customer_list, name="customer-list"),
    path("customers/<int:pk>/", customer_views.customer_detail, name="customer-detail"),
    path("api-calls/", api_log_views.api_call_list, name="api-call-list"),
]
