"""`{% load order_changes %}{% order_changes order %}`: the order page's "Change it in Visma" card, built by the same
code as the card's polled partial (`orders.change_views.changes_context`)."""

from __future__ import annotations

from django import template

from orders.change_views import changes_context

register = template.Library()


@register.inclusion_tag("orders/partials/order_changes.html", takes_context=True)
def order_changes(context, order) -> dict:
    return {**changes_context(context["request"], order), "csrf_token": context.get("csrf_token")}
