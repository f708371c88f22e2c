"""Shared fixtures: users in each role, clients logged in as them, a clean cache per test."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client

from core.roles import INTEGRATION_ADMIN, ORDER_CLERK, VIEWER
from tenants.visma import forget_process_state

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _clean_cache(request):
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        cache.clear()
        forget_process_state()
    yield


def make_user(django_user_model, username: str, role: str | None = None, **extra):
    user = django_user_model.objects.create_user(username=username, password=PASSWORD, **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def integration_admin(django_user_model):
    return make_user(django_user_model, "ingrid-admin", INTEGRATION_ADMIN)


@pytest.fixture
def order_clerk(django_user_model):
    return make_user(django_user_model, "oscar-clerk", ORDER_CLERK)


@pytest.fixture
def viewer(django_user_model):
    return make_user(django_user_model, "vera-viewer", VIEWER)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(username="sam-super", password=PASSWORD)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client_(integration_admin) -> Client:
    return logged_in(integration_admin)


@pytest.fixture
def clerk_client(order_clerk) -> Client:
    return logged_in(order_clerk)


@pytest.fixture
def viewer_client(viewer) -> Client:
    return logged_in(viewer)


SANDBOX_SECRET = "sandbox-secret-for-the-suite"


@pytest.fixture(scope="session")
def sandbox_server():
    from sandbox.server import SandboxServer

    with SandboxServer(client_secret=SANDBOX_SECRET, customers=40) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server):
    """The session's sandbox on a loopback port, with fresh state and the suite's secret."""
    sandbox_server.state.reset()
    sandbox_server.state.rotate_client_secret(SANDBOX_SECRET)
    return sandbox_server


@pytest.fixture
def rate_window(sandbox):
    """`rate_window(limit, seconds)`: Visma's rate limit for this test only, e.g. 20 requests a minute."""
    before = sandbox.state.rate_limit, sandbox.state.rate_window

    def narrow(limit: int, seconds: int):
        sandbox.state.rate_limit, sandbox.state.rate_window = limit, seconds
        return sandbox

    yield narrow
    sandbox.state.rate_limit, sandbox.state.rate_window = before


@pytest.fixture(scope="session")
def sandbox_tls_server():
    from sandbox.server import SandboxServer

    with SandboxServer(client_secret=SANDBOX_SECRET, customers=40, tls=True) as server:
        yield server


@pytest.fixture
def sandbox_tls(sandbox_tls_server):
    """Like `sandbox` but over HTTPS; clients must trust `sandbox_tls.ca_path`."""
    sandbox_tls_server.state.reset()
    sandbox_tls_server.state.rotate_client_secret(SANDBOX_SECRET)
    return sandbox_tls_server


@pytest.fixture
def application(sandbox):
    from tenants.models import ServiceApplication

    app = ServiceApplication(
        name="Portal (sandbox)",
        client_id="portal-demo-app",
        token_url=sandbox.token_url,
        api_url=sandbox.api_url,
    )
    app.set_secret(SANDBOX_SECRET)
    app.save()
    return app


@pytest.fixture
def tenant(application):
    from sandbox.seed import TENANT_FULL
    from tenants.models import Tenant

    return Tenant.objects.create(application=application, tenant_id=TENANT_FULL, name="Nordlys Handel AS")
