from __future__ import annotations

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Portal core"

    def ready(self) -> None:
        from . import checks, collation, middleware, roles  # noqa: F401 - checks registers the system checks

        # SQLite's indexes on customer names use the portal's collations: every connection must know them.
        connection_created.connect(collation.register_sqlite_collations, dispatch_uid="core.sqlite_collations")

        # Runs after every migrate, so permissions of models added later reach the roles without a new migration.
        post_migrate.connect(roles.sync_roles_after_migrate, dispatch_uid="core.sync_roles")
        user_logged_in.connect(middleware.start_session_clock, dispatch_uid="core.start_session_clock")
        from . import locale

        user_logged_in.connect(locale.remember_at_login, dispatch_uid="core.remember_locale")
