"""A new user's walk through following and changing orders after submission, on a 390 px phone and a 1280 px desktop
in Chromium: the orders list with Visma's status, the order page's In Visma panel (Refresh now by keyboard, also when
Visma fails), a conflict after someone changed the order in Visma, and the CSV import's format table. Nothing scrolls
sideways, stacked table cards keep their labels, badges can be seen and read, and the focus stays where it was."""

from __future__ import annotations

import re

import pytest

from core.models import Profile
from core.roles import ORDER_CLERK
from orders import listing, refresh, visma_status
from orders.models import OrderChange, SalesOrder
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_phone_pages import OVERFLOW, PHONE
from tests.conftest import PASSWORD, make_user
from tests.orders.following import change_in_visma, followed_orders

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1280, "height": 900}

# WCAG's contrast ratio of each badge's text on the badge, and of the badge (its fill or its border, whichever
# stands out more) on what is behind it.
BADGE_CONTRAST = """(selector) => {
  const rgb = (css) => (css.match(/[\\d.]+/g) || []).map(Number);
  const luminance = (colour) => {
    const [r, g, b] = colour.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const filled = (el) => {
    const c = rgb(getComputedStyle(el).backgroundColor);
    return c.length === 3 || c[3] > 0;
  };
  const behind = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (filled(p)) return rgb(getComputedStyle(p).backgroundColor);
    }
    return [255, 255, 255];
  };
  return Array.from(document.querySelectorAll(selector)).map((el) => {
    const style = getComputedStyle(el);
    const fill = rgb(style.backgroundColor);
    const border = parseFloat(style.borderTopWidth) > 0 ? rgb(style.borderTopColor) : fill;
    return {
      status: el.dataset.vismaStatus,
      text: ratio(rgb(style.color), fill),
      shape: Math.max(ratio(fill, behind(el)), ratio(border, behind(el))),
    };
  });
}"""
# Stacked table cards on a phone: every value cell names its column.
UNLABELLED = """(root) => Array.from(document.querySelectorAll(root + " table.table-stack > tbody > tr > td"))
  .filter((td) => td.offsetParent !== null && td.textContent.trim() && !td.dataset.label)
  .map((td) => td.closest("table").id + ": " + td.textContent.trim().slice(0, 40))"""
# Column names of the import format table break only after an underscore, never inside a word.
BROKEN_WORDS = """() => Array.from(document.querySelectorAll("td.mono")).flatMap((td) => {
  const chars = [];
  const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode())
    for (let i = 0; i < node.length; i++) {
      const range = document.createRange(); range.setStart(node, i); range.setEnd(node, i + 1);
      chars.push([node.data[i], range.getBoundingClientRect().top]);
    }
  const broken = chars.some(([, top], i) => i > 0 && top > chars[i - 1][1] + 2 && chars[i - 1][0] !== "_");
  return broken ? [td.textContent] : [];
})"""


@pytest.fixture
def clerk(page, django_user_model, tenant, monkeypatch):
    """A clerk with Norwegian settings, logged in."""
    monkeypatch.setattr(listing, "VISMA_POLL_SECONDS", 2)
    user = make_user(django_user_model, "nora-follows", ORDER_CLERK)
    Profile.objects.create(user=user, language="nb", time_zone="Europe/Oslo")
    log_in(page, user.username, PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()
    return user


def fits(page) -> None:
    page.wait_for_load_state("networkidle")
    assert page.evaluate(OVERFLOW) is None, page.evaluate(OVERFLOW)


def test_every_visma_status_badge_can_be_seen_and_read_on_the_list_and_in_the_panel(page, clerk, sandbox, tenant):
    orders = followed_orders(sandbox, tenant, len(visma_status.KNOWN) + 1)
    refresh.refresh_tenant(tenant)
    for order, status in zip(orders, visma_status.KNOWN, strict=False):
        SalesOrder.objects.filter(pk=order.pk).update(visma_status=status)
    unread = orders[-1]
    SalesOrder.objects.filter(pk=unread.pk).update(visma_status="", visma_refreshed_at=None)

    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        page.goto("/orders/")
        fits(page)
        badges = page.evaluate(BADGE_CONTRAST, "[data-visma-status]")
        assert sorted(badge["status"] for badge in badges) == sorted(visma_status.KNOWN)
        assert [b for b in badges if b["text"] < 4.5 or b["shape"] < 1.5] == [], badges
        assert page.locator(f"#order-visma-status-{unread.pk}").inner_text() == "not read yet"
    screenshot(page, "after-submission-review-list-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "after-submission-review-list-phone")

    page.goto(f"/orders/{orders[0].pk}/")  # Open, in the panel's small print on a white card
    [badge] = page.evaluate(BADGE_CONTRAST, "#visma-panel [data-visma-status]")
    assert badge["status"] == "Open" and badge["text"] >= 4.5 and badge["shape"] >= 3, badge


# htmx takes over a swapped-in element once the swap has settled (it then holds htmx's data with an init hash); an
# Enter pressed before that submits the form the plain way, a full page load, as a browser without htmx would.
HTMX_READY = """selector => {
    const element = document.querySelector(selector);
    return Boolean(element && (element["htmx-internal-data"] || {}).initHash)
        && !document.querySelector(".htmx-settling, .htmx-swapping, .htmx-added");
}"""


def test_refresh_now_by_keyboard_keeps_the_focus_and_says_how_it_went_also_when_visma_fails(
    page, clerk, sandbox, tenant
):
    order = followed_orders(sandbox, tenant, 1)[0]
    change_in_visma(sandbox, order, lines=[{"lineId": 1, "quantity": 5}])
    page.goto(f"/orders/{order.pk}/")
    news = page.locator("#visma-panel-news")
    assert news.get_attribute("role") == "status" and news.inner_text() == ""
    page.evaluate("document.getElementById('visma-panel-news').dataset.original = 'yes'")

    page.locator("#visma-refresh-now").focus()
    page.keyboard.press("Enter")
    news.filter(has_text="Read from Visma just now: open.").wait_for()
    assert page.evaluate("document.activeElement.id") == "visma-refresh-now"
    panel = page.locator("#visma-panel")
    assert "625,00 kr" in panel.inner_text().replace("\xa0", " ")  # Norwegian amounts
    assert "Changed: quantity" in panel.locator("#visma-line-differences").inner_text()

    sandbox.state.set_faults([{"method": "GET", "path": "/api/v3/SalesOrders/", "kind": "503"}])
    page.wait_for_function(HTMX_READY, arg="#visma-panel form")  # a swapped-in form is htmx's once it settled
    page.keyboard.press("Enter")
    news.filter(has_text="Visma could not be read: Visma answered HTTP 503").wait_for()
    error = panel.locator("[data-visma-error]").inner_text()
    assert re.search(r"Below is what the portal read last, \d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d\.", error), (
        error
    )  # Norwegian
    assert page.evaluate("document.activeElement.id") == "visma-refresh-now"
    assert page.evaluate("document.getElementById('visma-panel-news').dataset.original") == "yes"  # never replaced
    assert "Status when sent" in page.inner_text("main") and "Status in Visma" not in page.inner_text("main")
    screenshot(page, "after-submission-review-refresh-failed-desktop")
    page.set_viewport_size(PHONE)
    fits(page)
    assert page.evaluate(UNLABELLED, "#visma-panel") == []
    screenshot(page, "after-submission-review-refresh-failed-phone")
    assert [e for e in page.console_errors if "503" not in e] == [], page.console_errors


def test_after_a_conflict_the_clerk_sees_both_versions_and_what_each_button_does(page, clerk, sandbox, tenant):
    order = followed_orders(sandbox, tenant, 1)[0]
    refresh.refresh_order(order)
    page.set_viewport_size(PHONE)
    page.goto(f"/orders/{order.pk}/")
    change_in_visma(sandbox, order, description="Per's description, typed in Visma")  # between reading and sending
    page.locator("[data-change-form='edit'] summary").click()
    page.locator("[data-change-form='edit']").get_by_label("Description").fill("Nora's description")
    with page.expect_navigation():
        page.get_by_role("button", name="Send the change to Visma").click()
    conflict = page.locator("[data-change-conflict]")
    conflict.wait_for()
    assert OrderChange.objects.get().state == OrderChange.State.CONFLICT
    text = conflict.inner_text()
    assert "after the portal last read it" in text and "nothing was overwritten" in text
    assert "Nora's description" in text and "Per's description, typed in Visma" in text and "(no change)" in text
    assert "“Try again” makes your change on the order as Visma has it now" in text
    assert "“Drop it” leaves Visma's order as it is." in text
    fits(page)
    assert page.evaluate(UNLABELLED, "#order-changes") == []
    conflict.scroll_into_view_if_needed()
    screenshot(page, "after-submission-review-conflict-phone")
    page.set_viewport_size(DESKTOP)
    fits(page)
    screenshot(page, "after-submission-review-conflict-desktop")

    page.get_by_role("button", name="Drop it").click()
    page.get_by_text("dropped; Visma's version stays as it is").wait_for()
    assert page.console_errors == [], page.console_errors


def test_the_import_format_breaks_column_names_only_between_words(page, clerk):
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        page.goto("/orders/import/")
        fits(page)
        assert page.evaluate(BROKEN_WORDS) == []
    page.set_viewport_size(PHONE)
    screenshot(page, "after-submission-review-import-phone")
