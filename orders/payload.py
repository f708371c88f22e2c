"""The only place that knows Visma's field names for orders: SalesOrder -> `NewSalesOrderCommand`."""

from __future__ import annotations

from .models import SalesOrder


def build(order: SalesOrder) -> dict:
    customer = {"id": order.customer.number, "refNo": order.reference}
    if order.customer_order:
        customer["order"] = order.customer_order
    payload: dict = {
        "type": order.order_type,
        "customer": customer,
        "date": f"{order.date.isoformat()}T00:00:00",
        "status": order.status,
        "orderLines": [_line(line) for line in order.lines.all()],
    }
    if order.description:
        payload["description"] = order.description
    if order.note:
        payload["note"] = order.note
    return payload


def _line(line) -> dict:
    data: dict = {"inventoryId": line.inventory_id, "quantity": float(line.quantity)}
    if line.unit_price is not None:
        data["unitPrice"] = float(line.unit_price)
        data["hasManualPrice"] = True
    if line.description:
        data["description"] = line.description
    if line.tax_category:
        data["taxCategoryId"] = line.tax_category
    return data
