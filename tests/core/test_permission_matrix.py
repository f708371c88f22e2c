"""Every URL pattern x {anonymous, Viewer, Order clerk, Integration admin} x {GET, POST}, against an explicit table.

URLs with a pk point at real rows. A URL pattern missing from the table fails `test_the_table_covers_every_url`,
so a new page cannot ship without deciding who may use it. No answer anywhere may be a 500.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from orders.models import OrderChange, SalesOrder, SalesOrderLine
from tenants.models import Customer
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "viewer", "clerk", "admin")
LOGIN = "login"  # 302 to the portal's login page
ADMIN_LOGIN = "admin-login"  # 302 to the Django admin's own login page
OK, REDIRECT, BAD_REQUEST, FORBIDDEN, NOT_FOUND, NOT_ALLOWED = 200, 302, 400, 403, 404, 405


def row(get: str, post: str) -> dict[str, tuple]:
    """Expected answers for anonymous, Viewer, Order clerk and Integration admin, as "L 200 403 ..." per method."""

    def parse(text: str) -> tuple:
        symbols = {"L": LOGIN, "A": ADMIN_LOGIN}
        return tuple(symbols.get(code) or int(code) for code in text.split())

    expected = {"GET": parse(get), "POST": parse(post)}
    assert all(len(answers) == len(ROLES) for answers in expected.values())
    return expected


# name: (kwargs the URL needs, query string, expected answers)
# Objects: "tenant", "application", "customer", "order" (a draft with one line) are real rows.
MATRIX: dict[str, tuple[dict, str, dict]] = {
    # --- core --------------------------------------------------------------------------------------------------------
    "dashboard": ({}, "", row("L 200 200 200", "L 405 405 405")),
    # No django-q2 cluster runs in the suite, so /health/ honestly reports 503 (unhealthy) to everyone.
    "health": ({}, "", row("503 503 503 503", "405 405 405 405")),
    "login": ({}, "", row("200 302 302 302", "200 302 302 302")),
    "logout": ({}, "", row("L 405 405 405", "L L L L")),
    # Everyone edits their own settings (there is no id in the URL: nobody can reach anyone else's).
    "user-settings": ({}, "", row("L 200 200 200", "L 302 302 302")),
    # --- tenants and applications ------------------------------------------------------------------------------------
    "tenants:tenant-list": ({}, "", row("L 200 200 200", "L 405 405 405")),
    "tenants:tenant-create": ({}, "", row("L 403 403 200", "L 403 403 200")),
    "tenants:tenant-detail": ({"pk": "tenant"}, "", row("L 200 200 200", "L 405 405 405")),
    "tenants:tenant-edit": ({"pk": "tenant"}, "", row("L 403 403 200", "L 403 403 200")),
    "tenants:tenant-deactivate": ({"pk": "tenant"}, "", row("L 405 405 405", "L 403 403 302")),
    "tenants:tenant-check": ({"pk": "tenant"}, "", row("L 405 405 405", "L 403 302 302")),
    "tenants:sync-start": ({"pk": "tenant"}, "", row("L 405 405 405", "L 403 302 302")),
    "tenants:sync-status": ({"pk": "tenant"}, "", row("L 200 200 200", "L 405 405 405")),
    "tenants:application-create": ({}, "", row("L 403 403 200", "L 403 403 200")),
    "tenants:application-detail": ({"pk": "application"}, "", row("L 200 200 200", "L 405 405 405")),
    "tenants:application-edit": ({"pk": "application"}, "", row("L 403 403 200", "L 403 403 200")),
    "tenants:application-deactivate": ({"pk": "application"}, "", row("L 405 405 405", "L 403 403 302")),
    "tenants:application-rotate-webhook": ({"pk": "application"}, "", row("L 405 405 405", "L 403 403 302")),
    "tenants:customer-list": ({}, "", row("L 200 200 200", "L 405 405 405")),
    "tenants:customer-detail": ({"pk": "customer"}, "", row("L 200 200 200", "L 405 405 405")),
    "tenants:api-call-list": ({}, "", row("L 200 200 200", "L 405 405 405")),
    # --- orders ------------------------------------------------------------------------------------------------------
    "orders:order-list": ({}, "", row("L 200 200 200", "L 405 405 405")),
    "orders:order-create": ({}, "", row("L 403 200 403", "L 403 200 403")),
    "orders:order-bulk": ({}, "", row("L 405 405 405", "L 403 302 403")),
    "orders:line-form": ({}, "index=1", row("L 403 200 403", "L 405 405 405")),
    "orders:customer-options": ({}, "tenant={tenant}", row("L 200 200 200", "L 405 405 405")),
    "orders:inventory-options": ({}, "tenant={tenant}", row("L 403 200 403", "L 405 405 405")),
    "orders:location-options": ({}, "tenant={tenant}&customer={customer}", row("L 403 200 403", "L 405 405 405")),
    "orders:order-import": ({}, "", row("L 403 200 403", "L 403 200 403")),
    "orders:order-import-example": ({}, "", row("L 403 200 403", "L 405 405 405")),
    "orders:order-detail": ({"pk": "order"}, "", row("L 200 200 200", "L 405 405 405")),
    "orders:order-edit": ({"pk": "order"}, "", row("L 403 200 403", "L 403 200 403")),
    "orders:order-submit": ({"pk": "order"}, "", row("L 405 405 405", "L 403 302 403")),
    "orders:order-cancel": ({"pk": "order"}, "", row("L 405 405 405", "L 403 302 403")),
    "orders:order-copy": ({"pk": "order"}, "", row("L 405 405 405", "L 403 302 403")),
    "orders:order-state": ({"pk": "order"}, "", row("L 200 200 200", "L 405 405 405")),
    # The "In Visma" panel: everyone who sees orders reads it (it polls); Refresh now (POST) asks Visma.
    "orders:order-visma": ({"pk": "order"}, "", row("L 200 200 200", "L 403 302 302")),
    "orders:order-list-visma": ({}, "ids={order}", row("L 200 200 200", "L 405 405 405")),
    # Polled by the orders list and the dashboard: reads only, so GET alone.
    "orders:order-list-states": ({}, "ids={order}", row("L 200 200 200", "L 405 405 405")),
    "orders:dashboard-orders": ({}, "", row("L 200 200 200", "L 405 405 405")),
    # Changing an order Visma has: the card is polled (GET); order clerks ask for changes and decide on conflicts.
    # The draft "order" is not in Visma, so a clerk's change is refused with a message and a redirect.
    "orders:order-changes": ({"pk": "order"}, "", row("L 200 200 200", "L 405 405 405")),
    "orders:order-change": ({"pk": "order", "kind": "hold"}, "", row("L 405 405 405", "L 403 302 403")),
    "orders:order-change-again": ({"pk": "order", "change_pk": "change"}, "", row("L 405 405 405", "L 403 302 403")),
    "orders:order-change-drop": ({"pk": "order", "change_pk": "change"}, "", row("L 405 405 405", "L 403 302 403")),
}

# Visma's notifications: no login, no CSRF token; any caller with the token gets the same answers (an empty POST is
# not a notification), anyone without it a 404.
MATRIX["visma-webhook"] = ({"token": "webhook"}, "", row("405 405 405 405", "400 400 400 400"))

# The Django admin is for superusers and staff. The portal's login comes first; none of the roles is staff, so the
# admin then sends them to its own login.
ADMIN_SAMPLE: dict[str, tuple[dict, str, dict]] = {
    "admin:index": ({}, "", row("A A A A", "A A A A")),  # the admin's index leaves the login to the admin
    "admin:login": ({}, "", row("200 200 200 200", "200 200 200 200")),
    "admin:tenants_serviceapplication_changelist": ({}, "", row("L A A A", "L A A A")),
    "admin:tenants_serviceapplication_change": ({"object_id": "application"}, "", row("L A A A", "L A A A")),
    "admin:tenants_tenant_change": ({"object_id": "tenant"}, "", row("L A A A", "L A A A")),
    "admin:orders_salesorder_changelist": ({}, "", row("L A A A", "L A A A")),
    "admin:orders_salesorder_change": ({"object_id": "order"}, "", row("L A A A", "L A A A")),
    "admin:auth_user_changelist": ({}, "", row("L A A A", "L A A A")),
}


def project_url_names() -> set[str]:
    """Every named URL pattern outside the Django admin, with its namespace."""

    def walk(patterns, namespace: str = ""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                if inner != "admin:":
                    yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern):
                yield f"{namespace}{pattern.name or pattern.pattern}"

    return set(walk(get_resolver().url_patterns))


@pytest.fixture
def objects(sandbox, tenant, order_clerk):
    dto = next(c for c in sandbox.state.customers(str(tenant.tenant_id)) if c["status"] == "Active")
    customer = Customer.objects.create(tenant=tenant, number=dto["id"], name=dto["name"], status="Active")
    order = SalesOrder.objects.create(tenant=tenant, customer=customer, created_by=order_clerk)
    SalesOrderLine.objects.create(order=order, position=1, inventory_id="STOCK-100", quantity=Decimal(2))
    webhook = SimpleNamespace(pk=tenant.application.webhook_token)  # the URL's token stands where a pk would
    change = OrderChange.objects.create(
        order=order, kind="hold", state="conflict", body={"status": "Hold"}, if_match="x"
    )
    return {
        "tenant": tenant,
        "application": tenant.application,
        "customer": customer,
        "order": order,
        "webhook": webhook,
        "change": change,
        "hold": SimpleNamespace(pk="hold"),  # a kind of change stands where a pk would
    }


@pytest.fixture
def clients(viewer, order_clerk, integration_admin) -> dict[str, Client]:
    users = {"viewer": viewer, "clerk": order_clerk, "admin": integration_admin}
    clients = {role: logged_in(user) for role, user in users.items()}
    clients["anonymous"] = Client()
    for client in clients.values():
        client.raise_request_exception = False
    return clients


def url_for(name: str, kwargs: dict, query: str, objects: dict, missing: bool = False) -> str:
    resolved = {key: 999_999 if missing else objects[value].pk for key, value in kwargs.items()}
    path = reverse(name, kwargs=resolved)
    return f"{path}?{query.format(**{k: v.pk for k, v in objects.items()})}" if query else path


def answer(response) -> int | str:
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith("/admin/login/"):
            return ADMIN_LOGIN
        if location.startswith("/login/"):
            return LOGIN
    return response.status_code


def check(name: str, kwargs: dict, query: str, expected: dict, objects, clients, missing: bool = False) -> list[str]:
    url = url_for(name, kwargs, query, objects, missing)
    wrong = []
    for method in ("GET", "POST"):
        for role, want in zip(ROLES, expected[method], strict=True):
            response = getattr(clients[role], method.lower())(url)
            got = answer(response)
            assert response.status_code != 500, f"{method} {url} as {role}: 500"
            if got != want:
                wrong.append(f"{method} {url} as {role}: expected {want}, got {got}")
    return wrong


def test_the_table_covers_every_url():
    names = project_url_names()
    assert names - MATRIX.keys() == set(), "add these URLs to MATRIX with the answers each role should get"
    assert MATRIX.keys() - names == set(), "these URLs no longer exist: remove them from MATRIX"


KNOWN_GAPS: dict[str, str] = {}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[name]))
        if name in KNOWN_GAPS
        else name
        for name in sorted(MATRIX)
    ],
)
def test_every_role_gets_the_expected_answer(name, objects, clients):
    kwargs, query, expected = MATRIX[name]
    assert check(name, kwargs, query, expected, objects, clients) == []


@pytest.mark.parametrize("name", sorted(n for n, (kwargs, _, _) in MATRIX.items() if kwargs))
def test_a_missing_object_is_a_404_for_those_allowed_to_ask(name, objects, clients):
    kwargs, query, expected = MATRIX[name]
    missing = {
        method: tuple(NOT_FOUND if want in (OK, REDIRECT, BAD_REQUEST) else want for want in answers)
        for method, answers in expected.items()
    }
    assert check(name, kwargs, query, missing, objects, clients, missing=True) == []


@pytest.mark.parametrize("name", sorted(ADMIN_SAMPLE))
def test_admin_sample(name, objects, clients):
    kwargs, query, expected = ADMIN_SAMPLE[name]
    assert check(name, kwargs, query, expected, objects, clients) == []


def test_superuser_reaches_the_admin_and_every_page(objects, superuser):
    client = logged_in(superuser)
    client.raise_request_exception = False
    for name, (kwargs, query, _) in {**MATRIX, **ADMIN_SAMPLE}.items():
        if name in ("logout", "login", "admin:login"):
            continue
        response = client.get(url_for(name, kwargs, query, objects))
        assert response.status_code in (200, 302, 405) or name == "health", f"GET {name}: {response.status_code}"


def test_every_post_that_does_something_needs_a_csrf_token(objects, viewer, order_clerk, integration_admin):
    users = {"viewer": viewer, "clerk": order_clerk, "admin": integration_admin}
    checked = 0
    for name, (kwargs, query, expected) in MATRIX.items():
        for role, want in zip(ROLES, expected["POST"], strict=True):
            if (role == "anonymous" and name != "login") or want not in (OK, REDIRECT):
                continue
            client = Client(enforce_csrf_checks=True)
            if role != "anonymous":
                client.force_login(users[role])
            response = client.post(url_for(name, kwargs, query, objects))
            assert response.status_code == 403, f"POST {name} as {role} without a CSRF token: {response.status_code}"
            checked += 1
    assert checked >= 15
