"""The orders list's per-row state and Visma-number cells, built in Python: as template includes they were three
template renders per row (150 for a page of 50), most of the list's rendering time. The live poller swaps the same
cells in (`oob`), so both use these tags."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import truncatechars
from django.utils.html import format_html
from django.utils.safestring import SafeString

from orders import visma_status

register = template.Library()

STATE_COLOURS = {
    "submitted": "text-bg-success",
    "failed": "text-bg-danger",
    "queued": "text-bg-info",
    "submitting": "text-bg-primary",
    "cancelled": "text-bg-dark",
}


def _oob(oob: bool) -> SafeString:
    return SafeString(' hx-swap-oob="true"' if oob else "")


@register.simple_tag
def state_badge(state: str, label: str) -> SafeString:
    colour = STATE_COLOURS.get(state, "text-bg-secondary")
    return format_html('<span class="badge state-{} {}">{}</span>', state, colour, label)


@register.simple_tag
def order_state_cell(order, oob: bool = False) -> SafeString:
    error = ""
    if order.state == "failed" and order.last_error:
        error = format_html(
            '\n<div class="small text-danger list-error" title="{}">{}</div>',
            order.last_error,
            truncatechars(order.last_error, 90),
        )
    return format_html(
        '<div id="order-state-{}"{} data-state="{}">{}{}</div>',
        order.pk,
        _oob(oob),
        order.state,
        state_badge(order.state, order.get_state_display()),
        error,
    )


@register.simple_tag
def order_visma_cell(order, oob: bool = False) -> SafeString:
    return format_html('<span id="order-visma-{}"{}>{}</span>', order.pk, _oob(oob), order.visma_label or "—")


NOT_READ = SafeString('<span class="text-body-secondary">—</span>')


@register.simple_tag
def visma_status_badge(status: str) -> SafeString:
    """Visma's status of an order in words ("On hold", "Back order"), as a badge; "—" before Visma was read."""
    if not status:
        return NOT_READ
    return format_html(
        '<span class="badge {}" data-visma-status="{}">{}</span>',
        visma_status.tone(status),
        status,
        visma_status.words(status),
    )


NOT_READ_YET = SafeString('<span class="small text-body-secondary">not read yet</span>')


@register.simple_tag
def order_visma_status_cell(order, oob: bool = False) -> SafeString:
    """Visma's status; "not read yet" for an order Visma has that the refresh has not read, "—" for one not in Visma."""
    badge = NOT_READ_YET if order.visma_number and not order.visma_status else visma_status_badge(order.visma_status)
    return format_html('<span id="order-visma-status-{}"{}>{}</span>', order.pk, _oob(oob), badge)


@register.filter
def visma_status_words(status: str) -> str:
    return visma_status.words(status)
