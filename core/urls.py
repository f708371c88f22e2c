from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("health/", views.health_check, name="health"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("settings/", views.user_settings, name="user-settings"),
]
