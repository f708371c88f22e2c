from __future__ import annotations

from django.urls import path

from . import change_views, dashboard, import_views, views, visma_views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="order-list"),
    path("new/", views.order_create, name="order-create"),
    path("bulk/", views.order_bulk, name="order-bulk"),
    path("states/", views.order_list_states, name="order-list-states"),
    path("visma-states/", visma_views.order_list_visma, name="order-list-visma"),
    path("dashboard-states/", dashboard.dashboard_orders, name="dashboard-orders"),
    path("line-form/", views.line_form, name="line-form"),
    path("customers/", views.customer_options, name="customer-options"),
    path("inventory/", views.inventory_options, name="inventory-options"),
    path("locations/", views.location_options, name="location-options"),
    path("import/", import_views.order_import, name="order-import"),
    path("import/example.csv", import_views.example_csv, name="order-import-example"),
    path("<int:pk>/", views.order_detail, name="order-detail"),
    path("<int:pk>/edit/", views.order_edit, name="order-edit"),
    path("<int:pk>/submit/", views.order_submit, name="order-submit"),
    path("<int:pk>/cancel/", views.order_cancel, name="order-cancel"),
    path("<int:pk>/copy/", views.order_copy, name="order-copy"),
    path("<int:pk>/state/", views.order_state, name="order-state"),
    path("<int:pk>/visma/", visma_views.order_visma, name="order-visma"),
    path("<int:pk>/changes/", change_views.order_changes, name="order-changes"),
    path("<int:pk>/changes/<str:kind>/", change_views.order_change, name="order-change"),
    path("<int:pk>/changes/<int:change_pk>/again/", change_views.change_again, name="order-change-again"),
    path("<int:pk>/changes/<int:change_pk>/drop/", change_views.change_drop, name="order-change-drop"),
]
