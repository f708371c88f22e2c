"""One locale per user for numbers and dates (profile setting, site default) and amounts that carry their currency."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from core import collation, format_locales
from core.format_locales import NORWEGIAN
from core.models import Profile
from core.money import format_money, intl_locale
from core.templatetags.portal_format import quantity, unit_price
from core.templatetags.status_text import ago, lasting
from orders.models import SalesOrder, SalesOrderLine
from tenants.models import Customer, CustomerSync
from tests.conftest import logged_in, make_user

pytestmark = pytest.mark.django_db

NBSP = "\xa0"
MOMENT = datetime(2026, 11, 30, 0, 0, 5, tzinfo=UTC)  # 01:00 in Oslo


def priced_order(tenant, *, currency: str = "NOK", number: str = "10000") -> SalesOrder:
    """An order of 1,777.50: 2.5 at 449 and 1 at 655."""
    customer = Customer.objects.create(
        tenant=tenant, number=number, name=f"Kunde {number}", status="Active", currency=currency
    )
    order = SalesOrder.objects.create(tenant=tenant, customer=customer, date=date(2026, 11, 30))
    SalesOrderLine.objects.create(
        order=order, position=1, inventory_id="STOCK-300", quantity=Decimal("2.5"), unit_price=Decimal("449")
    )
    SalesOrderLine.objects.create(
        order=order, position=2, inventory_id="FREIGHT", quantity=Decimal("1"), unit_price=Decimal("655")
    )
    SalesOrder.objects.filter(pk=order.pk).update(created_at=MOMENT)
    return order


def user_with(django_user_model, username: str, role: str | None = None, **choice) -> Client:
    user = make_user(django_user_model, username, role)
    Profile.objects.create(user=user, **choice)
    return logged_in(user)


@pytest.fixture
def norwegian_viewer(django_user_model) -> Client:
    return user_with(django_user_model, "nora-viewer", "Viewer", language="nb")


@pytest.fixture
def english_viewer(django_user_model) -> Client:
    return user_with(django_user_model, "ed-viewer", "Viewer", language="en-gb")


# --- the rules ------------------------------------------------------------------------------------------------------
def test_amounts_are_written_the_norwegian_way():
    with translation.override(NORWEGIAN.language):
        assert format_money(Decimal("1777.5"), "NOK") == f"1{NBSP}777,50{NBSP}kr"
        assert format_money(Decimal("1777.5"), "EUR") == f"1{NBSP}777,50{NBSP}EUR"
        assert format_money(Decimal("-12.345"), "NOK") == f"\u221212,35{NBSP}kr"  # half up; a true minus, like Intl
        assert unit_price(Decimal("449.0000"), "NOK") == f"449,00{NBSP}kr"
        assert unit_price(Decimal("0.0125"), "NOK") == f"0,0125{NBSP}kr"
        assert quantity(Decimal("10.5000")) == "10,5"
        assert quantity(Decimal("12000.0000")) == f"12{NBSP}000"


def test_amounts_are_written_the_english_way():
    with translation.override("en-gb"):
        assert format_money(Decimal("1777.5"), "NOK") == f"NOK{NBSP}1,777.50"
        assert format_money(Decimal("0.005"), "sek") == f"SEK{NBSP}0.01"
        assert unit_price(Decimal("449"), "NOK") == f"NOK{NBSP}449.00"
        assert quantity(Decimal("2.0000")) == "2"


# --- per user, through the pages -------------------------------------------------------------------------------------
def test_a_norwegian_user_sees_norwegian_amounts_and_dates_on_the_order_page(norwegian_viewer, tenant):
    order = priced_order(tenant)
    page = norwegian_viewer.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert f"1{NBSP}777,50{NBSP}kr" in page
    assert f"449,00{NBSP}kr" in page and f"1{NBSP}122,50{NBSP}kr" in page  # unit price like the amount beside it
    assert ">2,5<" in page  # quantity without padding zeros
    assert "30.11.2026" in page and "30.11.2026 01:00" in page and "30.11.2026 01:00:05" in page
    assert 'Date</dt><dd class="col-sm-7">30.11.2026</dd>' in page


def test_an_english_user_sees_english_amounts_and_a_24_hour_time(english_viewer, tenant):
    order = priced_order(tenant)
    page = english_viewer.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert f"NOK{NBSP}1,777.50" in page and f"NOK{NBSP}449.00" in page
    assert "30/11/2026 01:00" in page and "a.m." not in page
    assert ">2.5<" in page


def test_a_user_without_a_choice_gets_the_site_default(viewer_client, tenant, settings):
    order = priced_order(tenant)
    url = reverse("orders:order-detail", args=[order.pk])
    assert f"NOK{NBSP}1,777.50" in viewer_client.get(url).content.decode()
    settings.LANGUAGE_CODE = NORWEGIAN.language  # what LANGUAGE_CODE=nb in the environment sets
    settings.TIME_ZONE = "UTC"
    page = viewer_client.get(url).content.decode()
    assert f"1{NBSP}777,50{NBSP}kr" in page and "30.11.2026 00:00" in page


def test_the_user_s_time_zone_moves_the_times(django_user_model, tenant):
    client = user_with(django_user_model, "nils", "Viewer", language="nb", time_zone="America/New_York")
    order = priced_order(tenant)
    page = client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert "29.11.2026 19:00" in page


def test_one_user_s_choice_does_not_leak_into_the_next_request(norwegian_viewer, viewer_client, tenant):
    order = priced_order(tenant)
    url = reverse("orders:order-detail", args=[order.pk])
    assert "kr" in norwegian_viewer.get(url).content.decode()
    assert f"NOK{NBSP}1,777.50" in viewer_client.get(url).content.decode()
    assert translation.get_language() == "en-gb"


def test_the_admin_writes_dates_the_same_way(django_user_model, tenant):
    user = django_user_model.objects.create_superuser(username="sigrid", password="x-long-enough-password")
    Profile.objects.create(user=user, language="nb")
    priced_order(tenant)
    page = logged_in(user).get(reverse("admin:orders_salesorder_changelist")).content.decode()
    assert "30.11.2026" in page


# --- the settings page ------------------------------------------------------------------------------------------------
def test_the_settings_page_needs_a_login():
    response = Client().get(reverse("user-settings"))
    assert response.status_code == 302 and reverse("login") in response.url


def test_every_role_opens_its_settings_from_the_user_menu(viewer_client):
    page = viewer_client.get(reverse("dashboard")).content.decode()
    assert reverse("user-settings") in page
    response = viewer_client.get(reverse("user-settings"))
    assert response.status_code == 200
    assert "Site default (English)" in response.content.decode()


def test_saving_norwegian_applies_at_once(viewer_client, viewer, tenant):
    response = viewer_client.post(reverse("user-settings"), {"language": "nb", "time_zone": "Europe/Oslo"}, follow=True)
    assert "Your settings are saved." in response.content.decode()
    assert Profile.objects.get(user=viewer).language == "nb"
    assert f"1{NBSP}777,50{NBSP}kr" in response.content.decode()  # the page's own example
    order = priced_order(tenant)
    assert "30.11.2026" in viewer_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()


def test_each_user_edits_only_their_own_settings(viewer_client, viewer, order_clerk):
    viewer_client.post(reverse("user-settings"), {"language": "nb", "time_zone": "", "user": order_clerk.pk})
    assert Profile.objects.get(user=viewer).language == "nb"
    assert not Profile.objects.filter(user=order_clerk).exists()


def test_a_bad_choice_is_refused_next_to_the_field(viewer_client, viewer):
    response = viewer_client.post(reverse("user-settings"), {"language": "xx", "time_zone": "Mars/Olympus"})
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("invalid-feedback") == 2 and "Mars/Olympus is not one of the available choices" in page
    assert not Profile.objects.filter(user=viewer).exists()


# --- every amount carries its currency --------------------------------------------------------------------------------
def test_the_customer_s_currency_is_shown_on_the_order_page_list_and_customer_page(english_viewer, tenant):
    order = priced_order(tenant, currency="SEK")
    for url in (
        reverse("orders:order-detail", args=[order.pk]),
        reverse("orders:order-list"),
        reverse("tenants:customer-detail", args=[order.customer.pk]),
    ):
        page = english_viewer.get(url).content.decode()
        assert f"SEK{NBSP}1,777.50" in page, url
        assert "NOK" not in page, url


def test_the_tenant_s_default_currency_when_visma_gives_none(norwegian_viewer, tenant):
    tenant.default_currency = "EUR"
    tenant.save()
    order = priced_order(tenant, currency="")
    for url in (
        reverse("orders:order-detail", args=[order.pk]),
        reverse("orders:order-list"),
        reverse("tenants:customer-detail", args=[order.customer.pk]),
    ):
        assert f"1{NBSP}777,50{NBSP}EUR" in norwegian_viewer.get(url).content.decode(), url


def test_the_order_form_passes_locale_and_currency_to_its_live_totals(django_user_model, tenant):
    client = user_with(django_user_model, "olav", "Order clerk", language="nb")
    order = priced_order(tenant, currency="DKK")
    page = client.get(reverse("orders:order-edit", args=[order.pk])).content.decode()
    assert 'data-locale="nb-NO"' in page and 'data-currency="DKK"' in page and 'data-default-currency="NOK"' in page
    assert 'value="2,5"' in page  # the quantity with the user's decimal mark, as the order page shows it
    data = {
        "tenant": tenant.pk,
        "customer": order.customer_id,
        "date": "2026-11-30",
        "order_type": "SO",
        "status": "Open",
        "action": "draft",
        "lines-TOTAL_FORMS": 1,
        "lines-INITIAL_FORMS": 0,
        "lines-0-inventory_id": "STOCK-300",
        "lines-0-quantity": "1,25",
        "lines-0-unit_price": "0,0125",
    }
    response = client.post(reverse("orders:order-create"), data)
    created = SalesOrder.objects.exclude(pk=order.pk).get()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert [(line.quantity, line.unit_price) for line in created.lines.all()] == [(Decimal("1.25"), Decimal("0.0125"))]


def test_the_import_preview_shows_each_order_s_currency(django_user_model, tenant):
    client = user_with(django_user_model, "ida", "Order clerk", language="nb")
    Customer.objects.create(tenant=tenant, number="10000", name="Kunde", status="Active", currency="NOK")
    Customer.objects.create(tenant=tenant, number="10001", name="Kunde SE", status="Active", currency="SEK")
    csv = (
        "reference,customer,date,inventory_id,quantity,unit_price\n"
        'PO-1,10000,2026-11-30,STOCK-300,"2,5",449\n'
        "PO-1,10000,2026-11-30,FREIGHT,1,655\n"
        "PO-2,10001,2026-11-30,FREIGHT,1,10\n"
    )
    upload = SimpleUploadedFile("orders.csv", csv.encode(), content_type="text/csv")
    response = client.post(reverse("orders:order-import"), {"tenant": tenant.pk, "file": upload})
    page = response.content.decode()
    assert f"1{NBSP}777,50{NBSP}kr" in page and f"10,00{NBSP}SEK" in page
    assert f"total 1{NBSP}777,50{NBSP}kr + 10,00{NBSP}SEK" in page  # never added up across currencies
    assert "30.11.2026" in page


def test_the_tenant_form_edits_the_default_currency(admin_client_, tenant):
    url = reverse("tenants:tenant-edit", args=[tenant.pk])
    data = {
        "application": tenant.application_id,
        "name": tenant.name,
        "tenant_id": str(tenant.tenant_id),
        "can_read": "on",
        "can_write": "on",
        "active": "on",
        "default_currency": "sek",
    }
    assert admin_client_.post(url, data).status_code == 302
    tenant.refresh_from_db()
    assert tenant.default_currency == "SEK"
    response = admin_client_.post(url, {**data, "default_currency": "K1"})
    assert response.status_code == 200 and "three-letter" in response.content.decode()


@pytest.mark.parametrize(("language", "six_pm"), [("en-gb", "18:00"), ("nb", "18:00")])
def test_the_admin_time_shortcuts_use_the_24_hour_clock(django_user_model, language, six_pm):
    user = django_user_model.objects.create_superuser(username="sigurd", password="x-long-enough-password")
    Profile.objects.create(user=user, language=language)
    catalog = logged_in(user).get(reverse("admin:jsi18n")).content.decode()
    assert f'"6 p.m.": "{six_pm}"' in catalog


def test_the_api_call_filters_pick_days_not_12_hour_times(admin_client_):
    page = admin_client_.get(reverse("tenants:api-call-list") + "?from=2026-11-30T01:00").content.decode()
    assert 'type="datetime-local"' not in page
    assert 'type="date" id="from" name="from" value="2026-11-30"' in page


def test_a_norwegian_superuser_opens_every_page_and_admin_list(django_user_model, tenant):
    user = django_user_model.objects.create_superuser(username="siri", password="x-long-enough-password")
    Profile.objects.create(user=user, language="nb", time_zone="Asia/Kolkata")
    client = logged_in(user)
    order = priced_order(tenant)
    urls = [
        reverse("dashboard"),
        reverse("user-settings"),
        reverse("tenants:tenant-list"),
        reverse("tenants:tenant-detail", args=[tenant.pk]),
        reverse("tenants:tenant-edit", args=[tenant.pk]),
        reverse("tenants:application-detail", args=[tenant.application_id]),
        reverse("tenants:customer-list"),
        reverse("tenants:customer-detail", args=[order.customer_id]),
        reverse("tenants:api-call-list") + "?from=2026-11-01&to=2026-11-30",
        reverse("orders:order-list") + "?from=2026-11-01&to=2026-11-30",
        reverse("orders:order-detail", args=[order.pk]),
        reverse("orders:order-edit", args=[order.pk]),
        reverse("orders:order-create") + f"?tenant={tenant.pk}",
        reverse("orders:order-import"),
        reverse("admin:index"),
        reverse("admin:orders_salesorder_changelist"),
        reverse("admin:orders_salesorder_change", args=[order.pk]),
        reverse("admin:tenants_tenant_change", args=[tenant.pk]),
        reverse("admin:tenants_customer_changelist"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert response["Content-Language"] == "en-no", url  # English text, written as in Norway


def test_the_default_currency_shows_on_the_tenant_page_and_is_editable_in_the_admin(admin_client_, superuser, tenant):
    page = admin_client_.get(reverse("tenants:tenant-detail", args=[tenant.pk])).content.decode()
    assert "Default currency</dt><dd" in page and ">NOK <" in page
    admin_page = logged_in(superuser).get(reverse("admin:tenants_tenant_change", args=[tenant.pk])).content.decode()
    assert 'name="default_currency"' in admin_page and 'value="NOK"' in admin_page


def test_currencies_cost_no_query_per_row(norwegian_viewer, tenant):
    first = priced_order(tenant, currency="SEK")
    pages = [reverse("orders:order-list"), reverse("tenants:customer-detail", args=[first.customer_id])]

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert norwegian_viewer.get(url).status_code == 200
        return len(captured)

    before = [queries(url) for url in pages]
    for index in range(1, 6):
        priced_order(tenant, currency="" if index % 2 else "EUR", number=str(10000 + index))
        order = SalesOrder.objects.create(tenant=tenant, customer=first.customer, date=date(2026, 11, 30))
        SalesOrderLine.objects.create(order=order, position=1, inventory_id="X", quantity=1, unit_price=Decimal("1"))
    assert [queries(url) for url in pages] == before


@pytest.mark.parametrize(
    ("value", "expected"),
    [("nb", "en-no|1 777,50|This field is required."), ("EN-GB", "en-gb|1,777.50|This field is required."), ("de", "")],
)
def test_the_site_formats_come_from_the_environment(value, expected):
    """LANGUAGE_CODE=nb chooses Norwegian formats, which Django runs as English text ("en-no"), also outside a request
    (workers, commands)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "ENV_FILE": "", "LANGUAGE_CODE": value}
    env["SECRET_KEY"] = "a-key-for-this-check-only-0123456789-0123456789"
    script = (
        "import django; django.setup(); from django.conf import settings;"
        "from django.utils import formats, translation;"
        "print(settings.LANGUAGE_CODE, formats.number_format(1777.5, 2, force_grouping=True).replace('\\xa0', ' '),"
        " translation.gettext('This field is required.'), sep='|')"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True)
    if expected:
        assert result.stdout.strip() == expected, result.stderr
    else:
        assert result.returncode != 0 and "LANGUAGE_CODE must be one of en-gb, nb" in result.stderr


def test_audit_entries_use_the_user_s_date_style(norwegian_viewer, tenant):
    order = priced_order(tenant)
    LogEntry.objects.update(timestamp=datetime(2026, 11, 29, 23, 30, 7, tzinfo=UTC))
    page = norwegian_viewer.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    audit = page[page.index('id="audit-trail-title"') :]
    assert "30.11.2026 00:30:07" in audit and "2026-11-29" not in audit


# --- Norwegian formats, English text ------------------------------------------------------------------------------
def test_each_choice_maps_to_an_english_language_its_browser_locale_and_its_collation():
    assert [(f.code, f.language, f.intl) for f in format_locales.FORMAT_LOCALES] == [
        ("en-gb", "en-gb", "en-GB"),
        ("nb", "en-no", "nb-NO"),
    ]
    for language in ("nb", "en-no", "EN-NO", "nb-NO", "nb_NO"):
        assert format_locales.of_language(language) == NORWEGIAN, language
        assert collation.for_language(language) == collation.NORWEGIAN, language
        assert intl_locale(language) == "nb-NO", language
    assert format_locales.of_language("en-us") == format_locales.ENGLISH
    assert format_locales.named("NB") == NORWEGIAN and format_locales.named("en-no") is None
    with translation.override(NORWEGIAN.language):
        assert format_money(Decimal("-1777.5"), "NOK") == f"\u22121{NBSP}777,50{NBSP}kr"
        assert intl_locale() == "nb-NO" and collation.for_language() == collation.NORWEGIAN
        assert translation.gettext("This field is required.") == "This field is required."


def test_time_phrases_stay_english_with_norwegian_formats():
    now = timezone.now()
    with translation.override(NORWEGIAN.language):
        assert ago(now - timedelta(minutes=4, seconds=5)).replace(NBSP, " ") == "4 minutes ago"
        assert ago(now) == "just now"
        assert lasting(now - timedelta(minutes=4, seconds=5)).replace(NBSP, " ") == "for 4 minutes"


def test_a_norwegian_format_user_reads_english_form_errors(django_user_model, tenant):
    client = user_with(django_user_model, "oda", "Order clerk", language="nb")
    customer = Customer.objects.create(tenant=tenant, number="10000", name="Kunde", status="Active")
    data = {
        "tenant": tenant.pk,
        "customer": customer.pk,
        "date": "2026-13-45",
        "order_type": "SO",
        "status": "Open",
        "action": "draft",
        "lines-TOTAL_FORMS": 1,
        "lines-INITIAL_FORMS": 0,
        "lines-0-inventory_id": "",
        "lines-0-quantity": "1,25",
    }
    response = client.post(reverse("orders:order-create"), data)
    page = response.content.decode()
    assert response.status_code == 200 and not SalesOrder.objects.exists()
    assert "This field is required." in page and "Enter a valid date." in page
    assert "påkrevd" not in page and "gyldig" not in page
    assert 'value="1,25"' in page  # what was typed comes back as typed
    assert response["Content-Language"] == "en-no"


def test_a_norwegian_format_user_sees_norwegian_numbers_in_english_sentences(norwegian_viewer, tenant):
    order = priced_order(tenant)
    page = norwegian_viewer.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert f"1{NBSP}777,50{NBSP}kr" in page and "30.11.2026" in page
    assert '<html lang="en"' in page
    CustomerSync.objects.create(
        tenant=tenant,
        trigger=CustomerSync.Trigger.MANUAL,
        outcome="succeeded",
        fetched=1777,
        started_at=timezone.now() - timedelta(minutes=4, seconds=10),
        finished_at=timezone.now() - timedelta(minutes=4, seconds=5),
    )
    for url in (reverse("tenants:sync-status", args=[tenant.pk]), reverse("tenants:tenant-detail", args=[tenant.pk])):
        page = norwegian_viewer.get(url).content.decode().replace(NBSP, " ")
        assert "4 minutes ago: 1 777 fetched" in page, url
        assert "minutter" not in page and "siden" not in page, url
    dashboard = norwegian_viewer.get(reverse("dashboard")).content.decode().replace(NBSP, " ")
    assert "OK, 4 minutes ago" in dashboard and "minutter" not in dashboard


def test_the_admin_is_english_with_norwegian_formats(django_user_model, tenant):
    user = django_user_model.objects.create_superuser(username="solveig", password="x-long-enough-password")
    Profile.objects.create(user=user, language="nb")
    client = logged_in(user)
    priced_order(tenant)
    index = client.get(reverse("admin:index"))
    page = index.content.decode()
    assert index["Content-Language"] == "en-no" and '<html lang="en-no"' in page
    assert "Recent actions" in page and "Log out" in page
    assert "Nylige handlinger" not in page and "Logg ut" not in page
    changelist = client.get(reverse("admin:orders_salesorder_changelist")).content.decode()
    assert "30.11.2026" in changelist and "Select sales order to change" in changelist
    catalog = client.get(reverse("admin:jsi18n")).content.decode()
    assert "I dag" not in catalog and "Midnatt" not in catalog  # the calendar's words stay English
    assert '"DATE_INPUT_FORMATS": [' in catalog and '"%d.%m.%Y"' in catalog
