"""The order page's "Change it in Visma": what each role sees and may do, confirmation before hold, release and
cancel, forms with their errors next to the fields, conflicts shown with both versions, and hand-edited URLs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orders import changes
from orders.models import OrderChange, SalesOrder
from sandbox.seed import TENANT_READ_ONLY
from tenants.models import Customer, Tenant
from tests.orders.changing import calls, change_in_visma, in_visma, submitted

pytestmark = pytest.mark.django_db
State = OrderChange.State


@pytest.fixture
def order(sandbox, tenant):
    return submitted(tenant)


def page(client, order) -> str:
    response = client.get(reverse("orders:order-detail", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


def change_url(order, kind) -> str:
    return reverse("orders:order-change", args=[order.pk, kind])


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """POST and run what was queued after commit (the change's task runs in this process in the tests)."""

    def sending(client, url, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {})

    return sending


def management(prefix: str, total: int, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


# --- who sees what --------------------------------------------------------------------------------------------------
def test_a_clerk_sees_what_visma_allows_now(clerk_client, order):
    html = page(clerk_client, order)
    assert "Change it in Visma" in html
    assert 'data-change="hold"' in html and 'data-change="cancel"' in html and 'data-change="release"' not in html
    for kind in ("edit", "add_lines", "change_lines"):
        assert f'data-change-form="{kind}"' in html
    assert html.count('name="version"') >= 5  # each button and form carries the version the page shows


@pytest.mark.parametrize("who", ["viewer_client", "admin_client_"])
def test_viewers_and_integration_admins_see_changes_but_cannot_make_them(request, who, order, order_clerk, send):
    send(logged_in_clerk(order_clerk), change_url(order, "hold"), {"confirmed": "yes", "version": order.visma_etag})
    html = page(request.getfixturevalue(who), order)
    assert "Change it in Visma" in html and "Put on hold" in html  # the change made, in the list
    assert "data-change=" not in html and "data-change-form" not in html
    assert "Only order clerks can change it" in html


def logged_in_clerk(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_draft_has_no_changes_card(clerk_client, tenant):
    from tests.ordering import make_order

    draft = make_order(tenant)
    assert "Change it in Visma" not in page(clerk_client, draft)


def test_a_draft_cannot_be_changed_in_visma_by_a_hand_made_post(clerk_client, tenant):
    from tests.ordering import make_order

    draft = make_order(tenant)
    for kind in ("hold", "edit", "add_lines", "change_lines"):
        response = clerk_client.post(change_url(draft, kind), {"confirmed": "yes", "description": "x"}, follow=True)
        assert "not in Visma yet" in response.content.decode()
    assert not OrderChange.objects.exists()


def test_no_buttons_once_visma_ships_it(clerk_client, sandbox, order):
    change_in_visma(sandbox, order, status="Shipping")
    changes.read_now(order)
    html = page(clerk_client, order)
    assert "data-change-closed" in html and "data-change=" not in html and "data-change-form" not in html


def test_no_buttons_in_a_status_visma_documents_no_change_from_and_the_card_says_why(clerk_client, sandbox, order):
    change_in_visma(sandbox, order, status="PendingApproval")
    changes.read_now(order)
    html = page(clerk_client, order)
    assert "data-change-not-changeable" in html and "pending approval" in html
    assert "data-change=" not in html and "data-change-form" not in html and "data-change-closed" not in html


def test_an_order_never_read_from_visma_asks_for_a_refresh_first(clerk_client, order):
    SalesOrder.objects.filter(pk=order.pk).update(visma_status="", visma_etag="")
    html = page(clerk_client, order)
    assert "data-change-unknown" in html and "data-change=" not in html


# --- hold, release, cancel: confirmed first -------------------------------------------------------------------------
def test_hold_is_confirmed_first_then_done(clerk_client, sandbox, order, send):
    response = clerk_client.post(change_url(order, "hold"), {"version": order.visma_etag})
    html = response.content.decode()
    assert response.status_code == 200 and "data-change-effect" in html
    assert "until it is released" in html and "Yes, put it on hold" in html
    assert not OrderChange.objects.exists()

    response = send(clerk_client, change_url(order, "hold"), {"version": order.visma_etag, "confirmed": "yes"})
    assert response.status_code == 302 and response["Location"] == reverse("orders:order-detail", args=[order.pk])
    change = OrderChange.objects.get()
    assert change.state == State.APPLIED and change.created_by.username == "oscar-clerk"
    assert in_visma(sandbox, order)["status"] == "Hold"
    html = page(clerk_client, order)
    assert "Done in Visma" in html and 'data-order-change="applied"' in html
    assert 'data-change="release"' in html and 'data-change="hold"' not in html
    assert "data-change-row" in html and "asked for by oscar-clerk" in html  # on the timeline


def test_cancel_states_what_it_does(clerk_client, sandbox, order, send):
    html = clerk_client.post(change_url(order, "cancel")).content.decode()
    assert "cannot be reopened" in html and "Yes, cancel it in Visma" in html
    send(clerk_client, change_url(order, "cancel"), {"confirmed": "yes", "version": order.visma_etag})
    assert in_visma(sandbox, order)["status"] == "Cancelled"


def test_release_of_an_open_order_is_refused_with_a_reason(clerk_client, order):
    response = clerk_client.post(change_url(order, "release"), follow=True)
    assert "does not allow this" in response.content.decode() and not OrderChange.objects.exists()


def test_a_page_read_before_visma_changed_sends_nothing(clerk_client, sandbox, order, send):
    response = send(clerk_client, change_url(order, "hold"), {"confirmed": "yes", "version": '"older"'})
    assert response.status_code == 302 and not OrderChange.objects.exists()
    assert calls(sandbox, "PATCH", order) == 0


# --- forms ----------------------------------------------------------------------------------------------------------
def test_details_are_changed_from_the_form(clerk_client, sandbox, order, send):
    data = {"version": order.visma_etag, "description": "Rush", "note": "Back door", "request_on": "2031-01-31"}
    response = send(clerk_client, change_url(order, "edit"), data)
    assert response.status_code == 302
    assert in_visma(sandbox, order)["description"] == "Rush"
    assert OrderChange.objects.get().body == {
        "description": "Rush",
        "note": "Back door",
        "requestOn": "2031-01-31T00:00:00",
    }


def test_details_errors_show_next_to_their_fields(clerk_client, order):
    data = {"description": "x" * 300, "request_on": "2001-01-01", "note": "ok"}
    response = clerk_client.post(change_url(order, "edit"), data)
    html = response.content.decode()
    assert response.status_code == 200 and not OrderChange.objects.exists()
    assert "at most 255 characters" in html and "cannot be before the order date" in html
    assert 'data-change-form="edit" open' in html


def test_nothing_changed_is_said_so(clerk_client, order):
    data = {
        "description": order.description,
        "note": order.note,
        "request_on": str(order.request_on or ""),
        "version": order.visma_etag,
    }
    html = clerk_client.post(change_url(order, "edit"), data).content.decode()
    assert "Nothing was changed" in html and not OrderChange.objects.exists()


def test_lines_are_added_from_the_form(clerk_client, sandbox, order, send):
    data = {
        **management("new", 3),
        "new-0-inventory_id": "STOCK-200",
        "new-0-quantity": "3",
        "new-0-unit_price": "12,50",
        "new-0-description": "",
        "version": order.visma_etag,
    }
    assert send(clerk_client, change_url(order, "add_lines"), data).status_code == 302
    assert [line["inventoryId"] for line in in_visma(sandbox, order)["lines"]] == ["STOCK-100", "STOCK-200"]
    assert OrderChange.objects.get().body["lines"][0]["unitPrice"] == Decimal("12.5")


def test_new_lines_need_an_item_and_a_quantity(clerk_client, order):
    data = {**management("new", 3), "new-0-inventory_id": "", "new-0-quantity": "", "new-1-quantity": "-1"}
    response = clerk_client.post(change_url(order, "add_lines"), data)
    html = response.content.decode()
    assert response.status_code == 200 and html.count("This field is required") >= 2
    assert "Quantity must be more than 0" in html and not OrderChange.objects.exists()


def test_a_broken_formset_is_refused_without_a_500(clerk_client, order):
    for kind in ("add_lines", "change_lines"):
        response = clerk_client.post(change_url(order, kind), {"new-TOTAL_FORMS": "x"})
        assert response.status_code == 200 and not OrderChange.objects.exists()


def test_vismas_lines_are_changed_from_the_form(clerk_client, sandbox, order, send):
    line = changes.visma_lines(order)[0]
    line_id = line["lineId"]
    data = {
        **management("line", 1, 1),
        "line-0-line_id": str(line_id),
        "line-0-quantity": "7",
        "line-0-unit_price": "",
        "line-0-description": line["description"],  # as the form shows it: unchanged
        "version": order.visma_etag,
    }
    assert send(clerk_client, change_url(order, "change_lines"), data).status_code == 302
    assert in_visma(sandbox, order)["lines"][0]["quantity"] == 7
    assert OrderChange.objects.get().body == {"lines": [{"lineId": line_id, "quantity": Decimal("7")}]}


# --- conflicts --------------------------------------------------------------------------------------------------------
def test_a_conflict_shows_both_versions_and_staff_decide(clerk_client, viewer_client, sandbox, order, send):
    data = {"version": order.visma_etag, "description": "Ours", "note": "", "request_on": str(order.request_on or "")}
    changes_before = order.visma_etag
    change_in_visma(sandbox, order, description="Theirs")
    send(clerk_client, change_url(order, "edit"), data)
    change = OrderChange.objects.get()
    assert change.state == State.CONFLICT and change.if_match == changes_before
    html = page(clerk_client, order)
    assert "Changed in Visma meanwhile" in html and "You wanted" in html and "Visma has now" in html
    assert "Ours" in html and "Theirs" in html and "data-change-again" in html and "data-change-drop" in html
    viewer_html = page(viewer_client, order)
    assert "Theirs" in viewer_html and "data-change-again" not in viewer_html and "data-change-drop" not in viewer_html
    assert in_visma(sandbox, order)["description"] == "Theirs"

    again = reverse("orders:order-change-again", args=[order.pk, change.pk])
    assert viewer_client.post(again).status_code == 403
    assert send(clerk_client, again).status_code == 302
    assert in_visma(sandbox, order)["description"] == "Ours"
    assert OrderChange.objects.filter(state=State.APPLIED).count() == 1


def test_a_conflict_can_be_dropped(clerk_client, sandbox, order, send):
    change_in_visma(sandbox, order, description="Theirs")
    send(clerk_client, change_url(order, "hold"), {"confirmed": "yes", "version": order.visma_etag})
    change = OrderChange.objects.get()
    drop = reverse("orders:order-change-drop", args=[order.pk, change.pk])
    assert clerk_client.post(drop).status_code == 302
    change.refresh_from_db()
    assert change.finished_at is not None and "data-change-drop" not in page(clerk_client, order)
    assert in_visma(sandbox, order)["status"] == "Open"


# --- polling ----------------------------------------------------------------------------------------------------------
def test_the_card_polls_while_a_change_is_open_and_reloads_the_page_when_done(clerk_client, order):
    change = changes.request_change(order, "hold")
    url = reverse("orders:order-changes", args=[order.pk])
    response = clerk_client.get(url, {"was": "open"})
    assert 'hx-trigger="every 2s"' in response.content.decode() and "HX-Refresh" not in response
    OrderChange.objects.filter(pk=change.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert 'hx-trigger="every 20s"' in clerk_client.get(url, {"was": "open"}).content.decode()  # waiting: less often
    OrderChange.objects.filter(pk=change.pk).update(next_attempt_at=None)
    changes.apply_change(change.pk)
    response = clerk_client.get(url, {"was": "open"})
    assert response["HX-Refresh"] == "true" and "every 2s" not in response.content.decode()


# --- permissions and hand-edited URLs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["hold", "cancel", "edit", "add_lines", "change_lines"])
def test_only_clerks_may_ask_for_changes(kind, viewer_client, admin_client_, order, sandbox):
    for client in (viewer_client, admin_client_):
        assert client.post(change_url(order, kind), {"confirmed": "yes"}).status_code == 403
    response = Client().post(change_url(order, kind), {"confirmed": "yes"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not OrderChange.objects.exists() and calls(sandbox, "PATCH", order) == 0


def test_the_card_needs_a_login_and_reads_for_every_role(viewer_client, admin_client_, clerk_client, order):
    url = reverse("orders:order-changes", args=[order.pk])
    for client in (viewer_client, admin_client_, clerk_client):
        assert client.get(url).status_code == 200
    assert Client().get(url)["Location"].startswith("/login/")


@pytest.mark.parametrize("who", ["viewer_client", "admin_client_"])
def test_only_clerks_may_try_again_or_drop(request, who, sandbox, order):
    change = conflict(sandbox, order)
    client = request.getfixturevalue(who)
    for name in ("orders:order-change-again", "orders:order-change-drop"):
        assert client.post(reverse(name, args=[order.pk, change.pk])).status_code == 403
        assert Client().post(reverse(name, args=[order.pk, change.pk]))["Location"].startswith("/login/")
    change.refresh_from_db()
    assert change.finished_at is None


def conflict(sandbox, order) -> OrderChange:
    change = changes.request_change(order, "hold")
    change_in_visma(sandbox, order, description="Theirs")
    return changes.apply_change(change.pk)


def test_unknown_kinds_and_ids_are_404s(clerk_client, order):
    assert clerk_client.post(change_url(order, "delete_everything")).status_code == 404
    assert clerk_client.post(reverse("orders:order-change", args=[999_999, "hold"])).status_code == 404
    assert clerk_client.post(reverse("orders:order-change-drop", args=[order.pk, 999_999])).status_code == 404
    assert clerk_client.get(change_url(order, "hold")).status_code == 405


@pytest.fixture
def other_tenants_order(application):
    """Another tenant's order Visma has, with a line and a change waiting for a decision (rows only: every request
    below must be refused before Visma is asked)."""
    other = Tenant.objects.create(application=application, tenant_id=TENANT_READ_ONLY, name="Fjord Read-Only AB")
    customer = Customer.objects.create(tenant=other, number="20000", name="Kunde", status="Active")
    theirs = SalesOrder.objects.create(
        tenant=other,
        customer=customer,
        state=SalesOrder.State.SUBMITTED,
        visma_type="SO",
        visma_number="000777",
        visma_status="Open",
        visma_etag='"their-version"',
        visma_lines=[{"lineId": 77, "inventoryId": "STOCK-100", "quantity": "1", "unitPrice": "5", "description": ""}],
    )
    OrderChange.objects.create(
        order=theirs, kind="hold", state=State.CONFLICT, body={"status": "Hold"}, if_match='"their-version"'
    )
    return theirs


def test_another_tenants_change_is_not_found_through_this_order(clerk_client, order, other_tenants_order):
    change = other_tenants_order.changes.get()
    for name in ("orders:order-change-again", "orders:order-change-drop"):
        assert clerk_client.post(reverse(name, args=[order.pk, change.pk])).status_code == 404
    change.refresh_from_db()
    assert change.finished_at is None and OrderChange.objects.count() == 1


def test_another_tenants_line_cannot_be_changed_through_this_order(clerk_client, sandbox, order, other_tenants_order):
    data = {**management("line", 1, 1), "line-0-line_id": "77", "line-0-quantity": "9", "version": order.visma_etag}
    html = clerk_client.post(change_url(order, "change_lines"), data).content.decode()
    assert "not a line of the order in Visma" in html and OrderChange.objects.count() == 1
    assert calls(sandbox, "PATCH", order, "/lines") == 0


def test_another_tenants_version_does_not_pass_for_this_orders(clerk_client, sandbox, order, other_tenants_order, send):
    data = {"confirmed": "yes", "version": other_tenants_order.visma_etag}
    send(clerk_client, change_url(order, "hold"), data)
    assert OrderChange.objects.count() == 1 and calls(sandbox, "PATCH", order) == 0


# --- audit trail and admin --------------------------------------------------------------------------------------------
def test_every_change_and_its_outcome_is_in_the_audit_trail(clerk_client, order, send):
    from auditlog.models import LogEntry

    data = {
        "version": order.visma_etag,
        "description": "Audited",
        "note": "",
        "request_on": str(order.request_on or ""),
    }
    send(clerk_client, change_url(order, "edit"), data)
    change = OrderChange.objects.get()
    entries = LogEntry.objects.get_for_object(change).order_by("pk")
    created, finished = entries[0], entries.last()
    assert created.action == LogEntry.Action.CREATE and created.actor.username == "oscar-clerk"
    assert created.changes_dict["kind"][1] == "edit" and "Audited" in created.changes_dict["body"][1]
    assert finished.changes_dict["state"] == ["sending", "applied"]
    on_order = LogEntry.objects.get_for_object(order).filter(actor__username="oscar-clerk").first()
    assert on_order.changes_dict["description"] == ["", "Audited"]
    assert "Audited" in page(clerk_client, order)  # the order's own trail shows it


def test_changes_are_read_only_in_the_admin(superuser, sandbox, order):
    change = conflict(sandbox, order)
    client = Client()
    client.force_login(superuser)
    assert client.get(reverse("admin:orders_orderchange_changelist")).status_code == 200
    html = client.get(reverse("admin:orders_orderchange_change", args=[change.pk])).content.decode()
    assert 'name="_save"' not in html and "Hold" in html
    assert client.get(reverse("admin:orders_orderchange_add")).status_code == 403
    assert client.post(reverse("admin:orders_orderchange_delete", args=[change.pk])).status_code == 403
    assert OrderChange.objects.filter(pk=change.pk).exists()


def test_after_refresh_now_the_confirmation_carries_the_version_it_shows(clerk_client, sandbox, order, send):
    stale = order.visma_etag
    change_in_visma(sandbox, order, description="Theirs")
    changes.read_now(order)  # Refresh now, in the In Visma panel, while the card still holds the older version
    html = clerk_client.post(change_url(order, "hold"), {"version": stale}).content.decode()
    assert stale.replace('"', "&quot;") not in html and order.visma_etag.replace('"', "&quot;") in html
    send(clerk_client, change_url(order, "hold"), {"version": order.visma_etag, "confirmed": "yes"})
    assert OrderChange.objects.get().state == State.APPLIED


def test_a_form_sent_from_an_older_version_comes_back_with_the_current_one(clerk_client, sandbox, order, send):
    stale = order.visma_etag
    change_in_visma(sandbox, order, description="Theirs")
    changes.read_now(order)
    data = {"version": stale, "description": "Ours", "note": "", "request_on": str(order.request_on or "")}
    html = clerk_client.post(change_url(order, "edit"), data).content.decode()
    assert "read from Visma again" in html and not OrderChange.objects.exists()
    assert order.visma_etag.replace('"', "&quot;") in html and 'value="Ours"' in html
    send(clerk_client, change_url(order, "edit"), {**data, "version": order.visma_etag})
    assert OrderChange.objects.get().state == State.APPLIED and in_visma(sandbox, order)["description"] == "Ours"


HOSTILE = ["\x00", "9" * 400, "-1e999", "NaN", "1,2,3", "<script>alert(1)</script>", "' OR 1=1 --", "\u202e", ""]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_never_make_a_500(clerk_client, order, value):
    clerk_client.raise_request_exception = False
    posts = {
        "edit": {"description": value, "note": value, "request_on": value, "version": value},
        "add_lines": {**management("new", 1), "new-0-inventory_id": value, "new-0-quantity": value},
        "change_lines": {**management("line", 1, 1), "line-0-line_id": value, "line-0-quantity": value},
        "hold": {"confirmed": value, "version": value},
    }
    for kind, data in posts.items():
        response = clerk_client.post(change_url(order, kind), data)
        assert response.status_code in (200, 302), (kind, response.status_code)
        assert "<script>alert(1)</script>" not in response.content.decode()
    assert clerk_client.get(reverse("orders:order-changes", args=[order.pk]), {"was": value}).status_code == 200
