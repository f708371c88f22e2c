"""The three staff roles, as Django groups with model permissions.

Patterns are matched against "app_label.codename", so a role automatically gains the permissions of models that
later issues add (e.g. `orders.view_*`).
"""

from __future__ import annotations

from fnmatch import fnmatch

INTEGRATION_ADMIN = "Integration admin"
ORDER_CLERK = "Order clerk"
VIEWER = "Viewer"

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    INTEGRATION_ADMIN: (
        "tenants.*",
        "orders.view_*",
        "orders.refresh_salesorder",
    ),
    ORDER_CLERK: (
        "tenants.view_*",
        "tenants.sync_customers",
        "tenants.check_connection",
        "orders.add_*",
        "orders.change_*",
        "orders.view_*",
        "orders.submit_salesorder",
        "orders.import_salesorders",
        "orders.refresh_salesorder",
    ),
    VIEWER: (
        "tenants.view_*",
        "orders.view_*",
    ),
}


def sync_roles(apps=None) -> None:
    """Create the role groups and set each one's permissions to exactly what its patterns match."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.filter(content_type__app_label__in=["tenants", "orders"]).select_related("content_type")
    )
    for role, patterns in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [
            p for p in permissions if any(fnmatch(f"{p.content_type.app_label}.{p.codename}", pat) for pat in patterns)
        ]
        group.permissions.set(wanted)


def sync_roles_after_migrate(sender, **kwargs) -> None:
    # post_migrate is sent once per app and permissions are created app by app, so sync after each one.
    sync_roles()
