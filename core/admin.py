"""The admins of Django and of the installed apps (users, groups, the task queue, lockouts, the audit log), given
the portal's safeguards against hostile posted values. The portal's own admins use the mixin directly; they are
registered after this module runs."""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin

from .admin_safety import SafeAdminMixin

admin.site.site_header = "Visma order portal: admin"
admin.site.site_title = "Visma order portal admin"
admin.site.index_title = "Records behind the portal"
admin.site.site_url = "/"

for model in apps.get_models():
    if admin.site.is_registered(model):
        model_admin = type(admin.site.get_model_admin(model))
        if not issubclass(model_admin, SafeAdminMixin):
            admin.site.unregister(model)
            admin.site.register(model, type(model_admin.__name__, (SafeAdminMixin, model_admin), {}))
