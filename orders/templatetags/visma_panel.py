"""`{% load visma_panel %}`: what the order page's "In Visma" panel needs besides the order."""

from __future__ import annotations

from django import template

from orders import line_diff, listing, refresh

register = template.Library()


@register.simple_tag
def line_differences(order) -> list[line_diff.Difference]:
    return line_diff.differences(order)


@register.filter
def is_followed(order) -> bool:
    """Whether the portal still reads the order from Visma (then the panel keeps itself fresh)."""
    return refresh.is_followed(order)


@register.simple_tag
def visma_poll_seconds() -> int:
    return listing.VISMA_POLL_SECONDS
