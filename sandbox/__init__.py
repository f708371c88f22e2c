"""A local stand-in for Visma Connect and the Visma.net Sales Order API v3, as strict as Visma and stricter where
Visma's documents are silent. It imports nothing of the portal.

Order versions: every stored order has an 8-byte counter that starts at a random value and grows by one with every
change. `GET /api/v3/SalesOrders/{type}/{orderId}`, the 201 of `POST /api/v3/SalesOrders` and every 202 of a change
carry it as `ETag: "<base64 of the counter>"` (`etag` with lowercase_headers); SalesOrderDto.version holds the same
base64. PATCH of an order or of its lines and DELETE of lines need `If-Match` with exactly that ETag (428 without,
412 with another); POST of lines checks no version. Times are UTC with seven decimals: 2026-11-30T08:01:02.1234567Z
(with `local_time_hours`, lastModified in that local time and without the Z, which Visma does not rule out).

Statuses: Open, Hold, BackOrder, Shipping, Completed, Cancelled. The API may move Open<->Hold and Open, Hold or
BackOrder to Cancelled, with no other field in the same PATCH. `lifecycle` (seconds) moves Open orders to Shipping
and then to Completed on its own (sandbox.lifecycle).

Control endpoints (tests and demos only, no token): GET /_sandbox/orders; POST /_sandbox/orders/<type>/<orderId>
changes an order as someone in Visma would (sandbox.control); GET and POST /_sandbox/webhooks read the delivery log
and change the webhook settings (sandbox.webhooks); faults, latency, refuse, reset, requests, tokens, health.

Webhooks: for every order created or changed (API, control endpoint, lifecycle) the sandbox POSTs JSON to the
webhook URL. Visma does not document its payload; the sandbox sends this one:

    {"id": "<uuid, the same in duplicate deliveries>",
     "publisher": "visma.net.erp.salesorderservice",
     "event": "SALESORDER_CREATED", "SALESORDER_UPDATED" or "SALESORDER_DELETED",
     "tenantId": "<the tenant (company) id>",
     "timestamp": "<the order's lastModified after the change>",
     "data": {"type": "SO", "orderId": "000001"}}
"""
