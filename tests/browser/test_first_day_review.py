"""What a first-day review on a 390 px phone found: stacked table cards whose labels stay whole, in the body font."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD
from tests.ordering import make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def test_a_two_line_card_label_grows_its_row_and_keeps_the_body_font(page, tenant, order_clerk):
    make_order(tenant)
    page.set_viewport_size(PHONE)
    log_in(page, order_clerk.username, PASSWORD)
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto("/orders/")
    row = page.locator("table.order-list tbody tr").first
    long_label = row.locator('td[data-label="Customer\'s order"]')
    long_label.wait_for()
    label_height, cell_height, next_top, cell_top = page.evaluate(
        """(cell) => {
            const label = parseFloat(getComputedStyle(cell, '::before').height);
            const box = cell.getBoundingClientRect();
            return [label, box.height, cell.nextElementSibling.getBoundingClientRect().top, box.top];
        }""",
        long_label.element_handle(),
    )
    assert label_height > 30, "the label wraps to two lines at 390 px"
    assert cell_height >= label_height and next_top >= cell_top + label_height, "the next line starts below the label"

    reference = row.locator("td.mono[data-label]").first
    fonts = page.evaluate(
        "(cell) => [getComputedStyle(cell, '::before').fontFamily, getComputedStyle(document.body).fontFamily]",
        reference.element_handle(),
    )
    assert fonts[0] == fonts[1], "a monospace cell's label is written in the body font"
    screenshot(page, "first-day-phone-order-card")


def test_on_a_phone_the_json_wraps_and_the_item_hint_sits_under_the_lines_heading(page, tenant, order_clerk, sandbox):
    order = make_order(tenant)
    order.lines.update(description="Steel bolt M8 (box of 100), zinc plated, for outdoor timber frames")
    page.set_viewport_size(PHONE)
    log_in(page, order_clerk.username, PASSWORD)
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto(f"/orders/{order.pk}/")
    payload = page.locator("#order-payload")
    assert "outdoor timber frames" in payload.inner_text()
    assert payload.evaluate("(pre) => pre.scrollWidth <= pre.clientWidth"), "nothing of the JSON hides past the edge"

    page.goto(f"/orders/new/?tenant={tenant.pk}")
    hint = page.locator("#inventory-suggestions p")
    hint.wait_for()
    heading = page.locator("#lines-heading h2").bounding_box()
    box = hint.bounding_box()
    assert box["y"] >= heading["y"] + heading["height"] - 1, "the hint starts below 'Lines', not squeezed beside it"
    screenshot(page, "first-day-phone-order-form-lines")


def test_on_a_phone_a_tenants_name_is_not_squeezed_by_its_buttons(page, tenant, integration_admin):
    page.set_viewport_size(PHONE)
    log_in(page, integration_admin.username, PASSWORD)
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto(f"/tenants/{tenant.pk}/")
    title = page.get_by_role("heading", name=tenant.name, level=1)
    assert title.bounding_box()["height"] < 40, "the name is on one line, not squeezed into a column beside the buttons"
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_on_a_phone_the_orders_list_can_still_be_sorted(page, tenant, order_clerk):
    first, second = make_order(tenant, number="10000"), make_order(tenant, number="10001")
    page.set_viewport_size(PHONE)
    log_in(page, order_clerk.username, PASSWORD)
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto("/orders/")
    sort = page.get_by_role("navigation", name="Sort the list")
    assert sort.get_by_role("link", name="Date").get_attribute("aria-current") == "true"
    link = sort.get_by_role("link", name="Reference")
    box = link.bounding_box()
    assert box["height"] >= 24 and box["width"] >= 24, "a usable tap target"
    link.click()
    page.wait_for_url("**sort=reference")
    references = page.locator("table.order-list tbody td.mono a").all_inner_texts()
    assert references == sorted([first.reference, second.reference])
    assert (
        page.get_by_role("navigation", name="Sort the list")
        .get_by_role("link", name="Reference")
        .get_attribute("aria-current")
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    assert page.get_by_role("navigation", name="Sort the list").count() == 0, "wide screens sort by the headers"
