"""Changing an order Visma has, over real HTTP to the sandbox: each kind applied, a 412 shown as a conflict and never
overwritten, a 428 failed as a bug, and a change whose answer is lost never applied twice (lines added once)."""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import changes
from orders.models import OrderChange, SalesOrder
from sandbox import dto
from tenants.api_log import ApiCall
from tests.conftest import SANDBOX_SECRET
from tests.ordering import make_order, wait_for
from tests.orders.changing import calls, change_in_visma, fault, in_visma, submitted
from tests.orders.test_exactly_once_strict import cache_token

pytestmark = pytest.mark.django_db
State = OrderChange.State


@pytest.fixture
def order(sandbox, tenant):
    """An order Visma has (SO 000001, one line of STOCK-100 x 2), read once so its version is known."""
    return submitted(tenant)


def ask(order, kind, wanted=None, user=None) -> OrderChange:
    change = changes.request_change(order, kind, wanted, user)
    assert change.state == State.QUEUED and change.if_match == order.visma_etag
    return change


def run(change) -> OrderChange:
    changes.apply_change(change.pk)
    change.refresh_from_db()
    return change


def make_due(change) -> None:
    OrderChange.objects.filter(pk=change.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


# --- each kind, applied ---------------------------------------------------------------------------------------------
def test_hold_and_release_are_applied_with_the_version_staff_saw(sandbox, order, order_clerk):
    version = order.visma_etag
    change = run(ask(order, "hold", user=order_clerk))
    assert change.state == State.APPLIED and change.finished_at and change.attempts == 1
    assert change.body == {"status": "Hold"} and change.if_match == version
    assert in_visma(sandbox, order)["status"] == "Hold"
    order.refresh_from_db()
    assert order.visma_status == "Hold" and order.visma_etag and order.visma_etag != version
    rows = list(order.attempts_log.filter(kind="change").values_list("outcome", "actor__username"))
    assert rows == [("requested", "oscar-clerk"), ("applied", "oscar-clerk")]
    assert ApiCall.objects.filter(method="PATCH", context=f"order {order.reference}", status=202).count() == 1

    assert changes.allowed_kinds(order) == ["release", "edit", "add_lines", "change_lines", "cancel"]
    change = run(ask(order, "release", user=order_clerk))
    assert change.state == State.APPLIED and in_visma(sandbox, order)["status"] == "Open"
    assert calls(sandbox, "PATCH", order) == 2


def test_cancel_is_applied_and_the_order_takes_no_more_changes(sandbox, order):
    change = run(ask(order, "cancel"))
    assert change.state == State.APPLIED and in_visma(sandbox, order)["status"] == "Cancelled"
    order.refresh_from_db()
    assert order.visma_status == "Cancelled" and order.visma_closed_at is not None
    assert changes.allowed_kinds(order) == []
    with pytest.raises(changes.ChangeRefused, match="takes no more changes"):
        changes.request_change(order, "edit", {"description": "Too late"})


def test_details_are_changed_only_where_staff_changed_them(sandbox, order, order_clerk):
    wanted = {"description": "Rush order", "note": "Ring the bell\nTwice", "request_on": date(2031, 5, 2)}
    change = run(ask(order, "edit", wanted, order_clerk))
    assert change.body == {
        "description": "Rush order",
        "note": "Ring the bell\nTwice",
        "requestOn": "2031-05-02T00:00:00",
    }
    assert change.state == State.APPLIED
    visma = in_visma(sandbox, order)
    assert visma["description"] == "Rush order" and visma["note"] == "Ring the bell\nTwice"
    assert visma["requestOn"].startswith("2031-05-02")
    order.refresh_from_db()
    assert (order.description, order.request_on) == ("Rush order", date(2031, 5, 2))

    with pytest.raises(changes.ChangeRefused, match="Nothing was changed"):
        changes.request_change(order, "edit", {**wanted, "request_on": None})


def test_nothing_to_change_is_refused(order):
    with pytest.raises(changes.ChangeRefused, match="Nothing was changed"):
        changes.request_change(order, "edit", {"description": order.description, "note": order.note})
    line_id = changes.visma_lines(order)[0]["lineId"]
    with pytest.raises(changes.ChangeRefused, match="Nothing was changed"):
        changes.request_change(order, "change_lines", [{"line_id": line_id, "quantity": Decimal("2")}])


def test_lines_are_added(sandbox, order):
    wanted = [{"inventory_id": "STOCK-200", "quantity": Decimal("3"), "unit_price": Decimal("12.5")}]
    change = run(ask(order, "add_lines", wanted))
    assert change.body == {
        "lines": [
            {"inventoryId": "STOCK-200", "quantity": Decimal("3"), "unitPrice": Decimal("12.5"), "hasManualPrice": True}
        ]
    }
    assert change.state == State.APPLIED and change.known_line_ids == [1]
    assert [line["inventoryId"] for line in in_visma(sandbox, order)["lines"]] == ["STOCK-100", "STOCK-200"]
    order.refresh_from_db()
    assert [line["inventoryId"] for line in changes.visma_lines(order)] == ["STOCK-100", "STOCK-200"]


def test_lines_are_changed(sandbox, order):
    line_id = changes.visma_lines(order)[0]["lineId"]
    wanted = [{"line_id": line_id, "quantity": Decimal("5"), "unit_price": Decimal("99.9"), "description": "Big box"}]
    change = run(ask(order, "change_lines", wanted))
    assert change.state == State.APPLIED
    assert change.body == {
        "lines": [
            {
                "lineId": line_id,
                "quantity": Decimal("5"),
                "unitPrice": Decimal("99.9"),
                "hasManualPrice": True,
                "description": "Big box",
            }
        ]
    }
    line = in_visma(sandbox, order)["lines"][0]
    assert (line["quantity"], line["unitPrice"], line["description"]) == (5, 99.9, "Big box")
    assert calls(sandbox, "PATCH", order, "/lines") == 1


# --- what Visma allows, and one change at a time --------------------------------------------------------------------
def test_what_visma_does_not_allow_is_refused_before_anything_is_queued(sandbox, order):
    with pytest.raises(changes.ChangeRefused, match="only be released when it is on hold"):
        changes.request_change(order, "release")
    change_in_visma(sandbox, order, status="Shipping")
    changes.read_now(order)
    assert changes.allowed_kinds(order) == []
    for kind in ("hold", "cancel", "edit"):
        with pytest.raises(changes.ChangeRefused, match="as shipping: it takes no more changes"):
            changes.request_change(order, kind, {"description": "x"})
    assert not OrderChange.objects.exists()


def test_one_open_change_per_order(order):
    ask(order, "hold")
    with pytest.raises(changes.ChangeRefused, match="still being sent"):
        changes.request_change(order, "cancel")
    assert OrderChange.objects.count() == 1


def test_an_order_not_in_visma_cannot_be_changed(tenant):
    draft = make_order(tenant)
    with pytest.raises(changes.ChangeRefused, match="not in Visma yet"):
        changes.request_change(draft, "hold")


def test_without_a_known_version_the_order_is_read_first(sandbox, order):
    SalesOrder.objects.filter(pk=order.pk).update(visma_etag="", visma_status="")
    order.refresh_from_db()
    before = calls(sandbox, "GET", order)
    change = changes.request_change(order, "hold")
    assert calls(sandbox, "GET", order) == before + 1
    assert change.if_match == order.visma_etag == dto.etag(in_visma(sandbox, order))


def test_a_page_showing_an_older_version_changes_nothing(order):
    with pytest.raises(changes.ChangeRefused, match="read from Visma again"):
        changes.request_change(order, "hold", seen_version='"an older version"')


# --- 412: changed in Visma meanwhile ---------------------------------------------------------------------------------
def test_a_conflict_shows_what_visma_has_and_overwrites_nothing(sandbox, order, order_clerk):
    change = ask(order, "edit", {"description": "Ours"}, order_clerk)
    change_in_visma(sandbox, order, description="Theirs", status="Hold")
    change = run(change)
    assert change.state == State.CONFLICT and change.last_error_status == 412 and change.finished_at is None
    assert change.conflict["description"] == "Theirs" and change.conflict["status"] == "Hold"
    assert [line["inventoryId"] for line in change.conflict["lines"]] == ["STOCK-100"]
    assert in_visma(sandbox, order)["description"] == "Theirs"
    order.refresh_from_db()
    assert order.visma_etag == change.conflict["etag"] != change.if_match  # the version now known
    assert order.attempts_log.filter(kind="change", outcome="conflict").exists()

    again = changes.try_again(change, order_clerk)
    change.refresh_from_db()
    assert change.finished_at is not None and again.if_match == order.visma_etag
    assert run(again).state == State.APPLIED and in_visma(sandbox, order)["description"] == "Ours"
    with pytest.raises(changes.ChangeRefused):
        changes.try_again(change, order_clerk)


def test_a_dropped_conflict_sends_nothing(sandbox, order, order_clerk):
    change = ask(order, "hold")
    change_in_visma(sandbox, order, description="Theirs")
    change = run(change)
    assert changes.drop(change, order_clerk) and not changes.drop(change, order_clerk)
    change.refresh_from_db()
    assert change.state == State.CONFLICT and change.finished_at is not None
    assert calls(sandbox, "PATCH", order) == 1 and in_visma(sandbox, order)["status"] == "Open"
    assert order.attempts_log.filter(kind="change", outcome="dropped", actor=order_clerk).exists()


# --- 428: a bug ------------------------------------------------------------------------------------------------------
def test_a_change_without_a_version_fails_as_a_bug_and_is_never_retried(sandbox, order, caplog):
    change = ask(order, "hold")
    OrderChange.objects.filter(pk=change.pk).update(if_match="")
    with caplog.at_level(logging.ERROR, logger="orders.changes"):
        change = run(change)
    assert change.state == State.FAILED and "If-Match" in change.last_error
    assert any(record.levelno == logging.ERROR for record in caplog.records)
    changes.sweep()
    change.refresh_from_db()
    assert change.state == State.FAILED and calls(sandbox, "PATCH", order) == 0


def test_a_428_from_visma_fails_the_change_as_a_bug_and_it_is_never_sent_again(sandbox, order, caplog):
    from tests.listener import Listener

    change = ask(order, "hold")
    problem = {"title": "Precondition Required", "status": 428, "detail": "If-Match header was not supplied."}
    with Listener(status=428, body=problem) as visma:
        application = order.tenant.application
        application.api_url = visma.url
        application.set_secret(SANDBOX_SECRET)  # a changed API URL needs the secret entered again
        application.save()
        order.tenant.refresh_from_db()
        cache_token(order.tenant)
        with caplog.at_level(logging.ERROR, logger="orders.changes"):
            change = run(change)
        assert change.state == State.FAILED and change.last_error_status == 428
        assert "If-Match" in change.last_error
        assert [r["headers"].get("If-Match") for r in visma.received] == [change.if_match]
        assert any(record.levelno == logging.ERROR for record in caplog.records)
        make_due(change)
        changes.sweep()
        assert len(visma.received) == 1


# --- Visma says no, or not now ---------------------------------------------------------------------------------------
def test_visma_rejecting_a_change_fails_it_with_vismas_words(sandbox, order):
    change = run(ask(order, "edit", {"request_on": date(2001, 1, 1)}))
    assert change.state == State.FAILED and change.last_error_status == 400
    assert "requestOn" in change.last_error and "before the order date" in change.last_error
    assert order.attempts_log.filter(kind="change", outcome="failed").exists()


def test_a_rate_limited_change_waits_without_using_an_attempt(sandbox, order):
    fault(sandbox, order, "PATCH", "429", retry_after=1)
    change = run(ask(order, "hold"))
    assert change.state == State.QUEUED and change.attempts == 0 and change.next_attempt_at > timezone.now()
    assert changes.apply_change(change.pk) is None  # not due: nothing is sent before Retry-After
    time.sleep(1.1)
    make_due(change)
    change = run(change)
    assert change.state == State.APPLIED and change.attempts == 1 and calls(sandbox, "PATCH", order) == 2


# --- lost answers: never applied twice -------------------------------------------------------------------------------
def test_a_patch_done_but_unanswered_is_found_applied(sandbox, order):
    version = in_visma(sandbox, order)["version"]
    fault(sandbox, order, "PATCH", "accept_then_drop")
    change = run(ask(order, "hold"))
    assert change.state == State.APPLIED and change.outcome_unknown_at is not None
    assert calls(sandbox, "PATCH", order) == 1 and in_visma(sandbox, order)["version"] == version + 1
    outcomes = list(order.attempts_log.filter(kind="change").values_list("outcome", flat=True))
    assert outcomes == ["requested", "answer lost", "looked up", "applied"]


def test_a_patch_answered_500_and_not_made_is_sent_again_once(sandbox, order):
    version = in_visma(sandbox, order)["version"]
    fault(sandbox, order, "PATCH", "500")
    change = run(ask(order, "edit", {"description": "After a 500"}))
    assert change.state == State.QUEUED and change.attempts == 1 and "sending it again" in change.last_error
    make_due(change)
    change = run(change)
    assert change.state == State.APPLIED and change.attempts == 2
    assert calls(sandbox, "PATCH", order) == 2 and in_visma(sandbox, order)["version"] == version + 1


def test_a_patch_visma_commits_late_is_applied_once(sandbox, order):
    version = in_visma(sandbox, order)["version"]
    fault(sandbox, order, "PATCH", "commit_after", delay=2.0)
    change = run(ask(order, "edit", {"description": "Late"}))
    assert change.state == State.QUEUED  # looked: not there, same version
    make_due(change)
    change = run(change)  # looked again (still not there), sent again with the same If-Match: applied
    assert change.state == State.APPLIED and in_visma(sandbox, order)["version"] == version + 1
    time.sleep(2.5)  # the first PATCH now reaches Visma's database, with a version that is no longer current
    assert in_visma(sandbox, order)["version"] == version + 1 and in_visma(sandbox, order)["description"] == "Late"


def test_changed_lines_visma_commits_late_are_changed_once(sandbox, order):
    version = in_visma(sandbox, order)["version"]
    line_id = changes.visma_lines(order)[0]["lineId"]
    fault(sandbox, order, "PATCH", "commit_after", "/lines", delay=1.5)
    change = run(ask(order, "change_lines", [{"line_id": line_id, "quantity": Decimal("9")}]))
    assert change.state == State.QUEUED
    make_due(change)
    change = run(change)
    assert change.state == State.APPLIED and calls(sandbox, "PATCH", order, "/lines") == 2
    time.sleep(2.0)  # the first PATCH reaches Visma with the version the second one already replaced: refused
    assert in_visma(sandbox, order)["version"] == version + 1 and in_visma(sandbox, order)["lines"][0]["quantity"] == 9


def test_changed_lines_made_but_unanswered_are_found_changed(sandbox, order):
    line_id = changes.visma_lines(order)[0]["lineId"]
    fault(sandbox, order, "PATCH", "accept_then_drop", "/lines")
    change = run(ask(order, "change_lines", [{"line_id": line_id, "unit_price": Decimal("3.25")}]))
    assert change.state == State.APPLIED and calls(sandbox, "PATCH", order, "/lines") == 1


def test_a_late_commit_seen_before_the_repeat_is_applied_without_a_repeat(sandbox, order):
    fault(sandbox, order, "PATCH", "commit_after", delay=0.5)
    change = run(ask(order, "hold"))
    assert change.state == State.QUEUED
    assert wait_for(lambda: in_visma(sandbox, order)["status"] == "Hold")
    make_due(change)
    assert run(change).state == State.APPLIED and calls(sandbox, "PATCH", order) == 1


def test_a_repeat_refused_412_after_a_late_commit_counts_as_applied(sandbox, order):
    fault(sandbox, order, "PATCH", "commit_after", delay=0.5)
    change = run(ask(order, "hold"))
    assert wait_for(lambda: in_visma(sandbox, order)["status"] == "Hold")
    # Sent again as if the look had come before the commit: Visma refuses the old version, the look finds it made.
    OrderChange.objects.filter(pk=change.pk).update(state=State.SENDING)
    change.refresh_from_db()
    changes._send(change, changes.VismaClient(order.tenant))
    change.refresh_from_db()
    assert change.state == State.APPLIED and calls(sandbox, "PATCH", order) == 2


def test_someone_elses_change_after_a_lost_answer_is_a_conflict(sandbox, order):
    fault(sandbox, order, "PATCH", "500")
    change = run(ask(order, "hold"))
    change_in_visma(sandbox, order, description="Theirs")
    make_due(change)
    change = run(change)
    assert change.state == State.CONFLICT and change.conflict["description"] == "Theirs"
    assert calls(sandbox, "PATCH", order) == 1 and in_visma(sandbox, order)["status"] == "Open"


ADD = [{"inventory_id": "STOCK-200", "quantity": Decimal("4"), "unit_price": None}]


def test_lines_added_but_unanswered_are_found_and_not_added_again(sandbox, order):
    fault(sandbox, order, "POST", "accept_then_drop", "/lines")
    change = run(ask(order, "add_lines", ADD))
    assert change.state == State.APPLIED and change.outcome_unknown_at is not None
    assert [line["inventoryId"] for line in in_visma(sandbox, order)["lines"]] == ["STOCK-100", "STOCK-200"]
    assert calls(sandbox, "POST", order, "/lines") == 1


def test_lines_visma_adds_late_are_only_looked_for_until_they_appear(sandbox, order, settings):
    settings.ORDER_RESEND_AFTER_SECONDS = 600
    fault(sandbox, order, "POST", "commit_after", "/lines", delay=3.0)
    change = run(ask(order, "add_lines", ADD))
    assert change.state == State.QUEUED and "never sent again" in change.last_error
    for _ in range(3):  # however often the worker or the sweeper comes back before Visma adds them
        make_due(change)
        changes.sweep()
        change.refresh_from_db()
        assert change.state == State.QUEUED and calls(sandbox, "POST", order, "/lines") == 1
        assert change.attempts == 1
    assert wait_for(lambda: len(in_visma(sandbox, order)["lines"]) == 2)
    make_due(change)
    changes.sweep()
    change.refresh_from_db()
    assert change.state == State.APPLIED and calls(sandbox, "POST", order, "/lines") == 1
    assert [line["inventoryId"] for line in in_visma(sandbox, order)["lines"]] == ["STOCK-100", "STOCK-200"]


def test_lines_still_missing_when_the_portal_stops_looking_are_never_sent_again(sandbox, order, settings):
    settings.ORDER_RESEND_AFTER_SECONDS = 1
    fault(sandbox, order, "POST", "reset", "/lines")
    change = run(ask(order, "add_lines", ADD))
    assert change.state == State.QUEUED
    time.sleep(1.1)
    make_due(change)
    change = run(change)
    assert change.state == State.FAILED and change.attempts == 1 and "not sent again" in change.last_error
    assert calls(sandbox, "POST", order, "/lines") == 1 and len(in_visma(sandbox, order)["lines"]) == 1
    assert order.attempts_log.filter(kind="change", outcome="failed").exists()


def test_lines_visma_adds_minutes_after_the_answer_was_lost_are_added_once(sandbox, order, settings):
    # Visma takes the POST, loses the answer and adds the lines only after the portal stopped looking for them: a
    # repeat would have added them a second time, since POST lines checks no version.
    settings.ORDER_RESEND_AFTER_SECONDS = 1
    fault(sandbox, order, "POST", "commit_after", "/lines", delay=2.5)
    change = run(ask(order, "add_lines", ADD))
    assert change.state == State.QUEUED
    time.sleep(1.1)
    for _ in range(2):  # the worker and the sweeper after the portal stopped looking
        make_due(change)
        changes.sweep()
        change.refresh_from_db()
    assert change.state == State.FAILED and calls(sandbox, "POST", order, "/lines") == 1
    assert wait_for(lambda: len(in_visma(sandbox, order)["lines"]) == 2)
    time.sleep(0.5)
    assert [line["inventoryId"] for line in in_visma(sandbox, order)["lines"]] == ["STOCK-100", "STOCK-200"]


def test_someone_adding_the_same_item_in_visma_is_not_taken_for_ours(sandbox, order, settings):
    settings.ORDER_RESEND_AFTER_SECONDS = 600
    two = [*ADD, {"inventory_id": "STOCK-300", "quantity": Decimal("1"), "unit_price": None}]
    fault(sandbox, order, "POST", "reset", "/lines")
    change = run(ask(order, "add_lines", two))
    change_in_visma(sandbox, order, lines=[{"inventoryId": "STOCK-200", "quantity": 4}])
    make_due(change)
    change = run(change)
    assert change.state == State.CONFLICT and calls(sandbox, "POST", order, "/lines") == 1


def test_the_sweeper_looks_up_a_change_whose_worker_stopped(sandbox, order, settings):
    change = ask(order, "hold")
    # The worker sent it, Visma made it, then the worker stopped before writing down the answer.
    changes.VismaClient(order.tenant).patch_sales_order(
        order.visma_type, order.visma_number, change.body, change.if_match
    )
    long_ago = timezone.now() - timedelta(seconds=settings.Q_CLUSTER["timeout"] + 60)
    OrderChange.objects.filter(pk=change.pk).update(state=State.SENDING, attempt_started_at=long_ago, attempts=1)
    assert "1 looked up after a stopped worker" in changes.sweep()
    change.refresh_from_db()
    assert change.state == State.APPLIED and change.outcome_unknown_at == long_ago
    assert calls(sandbox, "PATCH", order) == 1


def test_the_sweeper_enqueues_due_changes(sandbox, order):
    change = ask(order, "release" if order.visma_status == "Hold" else "hold")
    assert "1 changes enqueued" in changes.sweep()  # tasks run in this process in the tests
    change.refresh_from_db()
    assert change.state == State.APPLIED


def test_the_orders_sweeper_task_sweeps_changes_too(sandbox, order):
    from orders.tasks import sweep_orders

    change = ask(order, "hold")
    assert "1 changes enqueued" in sweep_orders()
    change.refresh_from_db()
    assert change.state == State.APPLIED


def test_a_change_answered_without_a_version_that_cannot_be_read_after_leaves_no_stale_version(sandbox, order):
    # Visma carries out the PATCH but its 202 has no ETag, and the read after it fails: the version the portal knew
    # is no longer Visma's, so the next change must read the order first instead of meeting a 412 nobody caused.
    path = f"/api/v3/SalesOrders/{order.visma_type}/{order.visma_number}"
    sandbox.state.set_faults(
        [
            {"method": "PATCH", "path": path, "kind": "no_etag", "times": 1},
            {"method": "GET", "path": path, "kind": "500", "times": 1},
        ]
    )
    old_version = order.visma_etag
    change = run(ask(order, "hold"))
    assert change.state == State.APPLIED and in_visma(sandbox, order)["status"] == "Hold"
    order.refresh_from_db()
    assert order.visma_etag != old_version

    change = run(changes.request_change(order, "edit", {"description": "Next change"}))
    assert change.state == State.APPLIED and in_visma(sandbox, order)["description"] == "Next change"


def test_a_change_of_an_order_deleted_in_visma_after_a_lost_answer_fails_instead_of_looking_for_ever(sandbox, order):
    fault(sandbox, order, "PATCH", "500")
    change = run(ask(order, "hold"))
    assert change.state == State.QUEUED and change.outcome_unknown_at is not None
    change_in_visma(sandbox, order, delete=True)
    make_due(change)
    change = run(change)
    assert change.state == State.FAILED and "no longer has the order" in change.last_error
    assert calls(sandbox, "PATCH", order) == 1


def test_lines_for_an_order_deleted_in_visma_fail_instead_of_waiting_for_ever(sandbox, order):
    change = ask(order, "add_lines", ADD)
    change_in_visma(sandbox, order, delete=True)
    change = run(change)
    assert change.state == State.FAILED and "no longer has the order" in change.last_error
    assert calls(sandbox, "POST", order, "/lines") == 0


@pytest.mark.parametrize("word", ["PendingApproval", "Invoiced", "Closed"])
def test_an_order_in_a_status_the_portal_does_not_know_to_take_changes_offers_none(sandbox, order, word):
    change_in_visma(sandbox, order, status=word)
    changes.read_now(order)
    assert order.visma_status == word and changes.allowed_kinds(order) == []
    for kind in ("cancel", "edit"):
        with pytest.raises(changes.ChangeRefused, match="only while Visma has it open, on hold or back-ordered"):
            changes.request_change(order, kind, {"description": "x"})
    assert not OrderChange.objects.exists()


def test_visma_s_headers_in_lower_case_are_read_all_the_same(sandbox, order, monkeypatch):
    monkeypatch.setattr(sandbox.state, "lowercase_headers", True)  # `etag: "…"`, as HTTP/2 gateways write it
    changes.read_now(order)
    assert order.visma_etag == dto.etag(in_visma(sandbox, order))
    change = run(ask(order, "hold"))
    assert change.state == State.APPLIED
    order.refresh_from_db()
    assert order.visma_etag == dto.etag(in_visma(sandbox, order))
