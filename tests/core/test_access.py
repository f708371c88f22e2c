from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from core.roles import INTEGRATION_ADMIN, ORDER_CLERK, VIEWER
from tests.urlwalk import all_urls

pytestmark = pytest.mark.django_db

PUBLIC = {"/login/", "/health/", "/admin/login/"}


def test_every_url_refuses_anonymous_users():
    client = Client(raise_request_exception=False)
    urls = all_urls()
    assert len(urls) > 10
    for path, name in urls:
        if path in PUBLIC:
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            assert response.status_code != 500, f"{method.upper()} {path} ({name}) crashed"
            if response.status_code in (301, 302):
                target = response["Location"]
                assert "/login/" in target, f"{method.upper()} {path} ({name}) redirects to {target}"
            else:
                assert response.status_code in (403, 404, 405), (
                    f"{method.upper()} {path} ({name}) answered {response.status_code}"
                )


def test_roles_exist_with_their_permissions():
    names = set(Group.objects.values_list("name", flat=True))
    assert {INTEGRATION_ADMIN, ORDER_CLERK, VIEWER} <= names
    viewer = Group.objects.get(name=VIEWER)
    assert not viewer.permissions.exclude(codename__startswith="view_").exists()


def test_login_page_signs_in_and_lands_on_dashboard(viewer):
    client = Client()
    response = client.post(reverse("login"), {"username": viewer.username, "password": "correct-horse-battery-staple"})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200


def test_login_refuses_offsite_next(viewer):
    client = Client()
    response = client.post(
        reverse("login") + "?next=https://evil.example/",
        {"username": viewer.username, "password": "correct-horse-battery-staple", "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_wrong_password_shows_error_next_to_form(viewer):
    response = Client().post(reverse("login"), {"username": viewer.username, "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_pages_carry_security_headers(viewer_client):
    response = viewer_client.get(reverse("dashboard"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_pages_have_no_inline_scripts(viewer_client):
    html = viewer_client.get(reverse("dashboard")).content.decode()
    for chunk in html.split("<script")[1:]:
        assert chunk.lstrip().startswith("src="), "inline <script> found; the CSP forbids it"


def test_unknown_page_is_a_friendly_404(viewer_client):
    response = viewer_client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content
