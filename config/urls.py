from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from orders.dashboard import dashboard
from orders.webhook_views import visma_webhook

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("", include("core.urls")),
    path("tenants/", include("tenants.urls")),
    path("orders/", include("orders.urls")),
    path("webhooks/visma/<str:token>/", visma_webhook, name="visma-webhook"),
    path("admin/", admin.site.urls),
]

handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
