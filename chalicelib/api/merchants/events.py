"""The merchant's webhook events (contract v1.2, section 14): list them by delivery state, and ask for
one to be delivered again now. `Authorization: Bearer <secret_key>`, like every `/merchant/*` route."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.pagination import page_of
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.wallet import webhooks

_FORBIDDEN = "`403 forbidden`: the merchant is suspended."


@operation(
    "GET",
    "/merchant/events",
    schemas="merchants",
    summary="The merchant's webhook events, newest first",
    description=(
        "Every event (`order.paid`, `order.closed`, `order.expired`, `refund.succeeded`) as it is POSTed, with its "
        "delivery state: `pending` (next attempt at `next_attempt_at`; without a `webhook_url` nothing is "
        "attempted), `delivered` (a 2xx within 10 s) or `failed` (the last retry, 24 h after the one before, "
        "failed). `?delivery=` keeps one state (pages may then be short while `next_cursor` is not null); "
        "`?limit=` (1–100, default 20) and the opaque `?cursor=` of the previous page. " + _FORBIDDEN
    ),
    tag="merchant",
    auth="merchant",
    query="EventsQuery",
    response="EventPage",
    errors=("forbidden", "invalid_cursor"),
)
def list_events(call: Call) -> dict:
    merchant_id = call.merchant.merchant_id
    delivery = call.query.delivery
    return page_of(
        f"merchant-events#{merchant_id}#{delivery or ''}",
        call.query,
        lambda limit, start: webhooks.list_events(merchant_id, limit, start, delivery),
    )


@operation(
    "POST",
    "/merchant/events/{event_id}/redeliver",
    schemas="merchants",
    summary="Deliver an event again now",
    description=(
        "POSTs the event to the `webhook_url` again now, whatever its state, signed afresh: `202` with the "
        "delivery state after this attempt. A `pending` event that fails stays on its retry schedule; a "
        "`delivered` or `failed` one keeps its state unless this attempt delivers it. Another merchant's event is "
        "`404 not_found`. " + _FORBIDDEN
    ),
    tag="merchant",
    auth="merchant",
    response="Redelivery",
    status=202,
    errors=("forbidden", "not_found"),
)
def redeliver_event(call: Call) -> Reply:
    return Reply(webhooks.redeliver(call.merchant.merchant_id, call.params["event_id"], clock.now()), 202)
