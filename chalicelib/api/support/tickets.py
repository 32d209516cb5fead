"""Support tickets (客服): the user's tickets and the agents' queue."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.pagination import page_of
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.support import ticket_desk, tickets

_KEY_ERRORS = ("idempotency_key_reused", "request_in_progress")


@operation(
    "POST",
    "/support/tickets",
    schemas="tickets",
    summary="Open a support ticket",
    description="Starts `new`; the first agent reply is due in 24 calendar hours (`first_response_due`) and "
    "the user is sent an acknowledgement naming the ticket. At most 10 tickets a day per user. "
    "Check order after validation: 429 → 404 transaction_id (unknown or not the caller's).",
    tag="support",
    auth="user",
    body="TicketCreate",
    response="Ticket",
    status=201,
    idempotency="optional",
    errors=("rate_limited", "not_found", *_KEY_ERRORS),
)
def open_ticket(call: Call) -> Reply:
    body = call.body
    ticket = tickets.open_ticket(
        call.user.user_id,
        body.subject,
        body.body,
        body.category,
        body.transaction_id,
        clock.now(),
    )
    return Reply(ticket, 201)


@operation(
    "GET",
    "/support/tickets",
    schemas="tickets",
    summary="The caller's tickets, newest first",
    tag="support",
    auth="user",
    query="PageQuery",
    response="TicketPage",
    errors=("invalid_cursor",),
)
def list_tickets(call: Call) -> dict:
    user_id = call.user.user_id
    return page_of(f"tickets#{user_id}", call.query, lambda limit, start: tickets.list_tickets(user_id, limit, start))


@operation(
    "GET",
    "/support/tickets/{ticket_id}",
    schemas="tickets",
    summary="One of the caller's tickets with its messages",
    tag="support",
    auth="user",
    response="TicketDetail",
    errors=("not_found",),
)
def read_ticket(call: Call) -> dict:
    return tickets.read_ticket(call.user.user_id, call.params["ticket_id"])


@operation(
    "POST",
    "/support/tickets/{ticket_id}/messages",
    schemas="tickets",
    summary="Write on one of the caller's tickets",
    description="A message on a `pending` or `solved` ticket makes it `open` again; a `closed` ticket takes no "
    "more messages (409 ticket_closed: open a new one). At most 30 messages an hour per user over all cases.",
    tag="support",
    auth="user",
    body="TicketMessageCreate",
    response="TicketMessage",
    status=201,
    idempotency="optional",
    errors=("rate_limited", "not_found", "ticket_closed", *_KEY_ERRORS),
)
def add_message(call: Call) -> Reply:
    message = tickets.add_user_message(call.user.user_id, call.params["ticket_id"], call.body.body, clock.now())
    return Reply(message, 201)


# --- agents ----------------------------------------------------------------------------------------


@operation(
    "GET",
    "/admin/tickets",
    schemas="tickets",
    summary="Ticket queue, oldest first_response_due first",
    description="Without `status`: the active tickets (new, open and pending) merged in one order.",
    tag="admin",
    auth="agent",
    query="TicketQueueQuery",
    response="AgentTicketPage",
    errors=("invalid_cursor",),
)
def ticket_queue(call: Call) -> dict:
    query = call.query
    statuses = (query.status,) if query.status else ticket_desk.ACTIVE_STATUSES
    scope = f"ticket_queue#{query.status or 'active'}"
    return page_of(
        scope, query, lambda limit, position: ticket_desk.queue_page(statuses, limit=limit, position=position)
    )


@operation(
    "GET",
    "/admin/tickets/{ticket_id}",
    schemas="tickets",
    summary="A ticket as agents see it: messages with authors, and its history",
    description="An addition to the contract (section 7 lists no agent read of one ticket): agents need the "
    "whole case to answer it.",
    tag="admin",
    auth="agent",
    response="AgentTicketDetail",
    errors=("not_found",),
)
def read_ticket_for_agent(call: Call) -> dict:
    return ticket_desk.read_for_agent(call.params["ticket_id"])


@operation(
    "POST",
    "/admin/tickets/{ticket_id}/messages",
    schemas="tickets",
    summary="Reply to a ticket; the user is emailed",
    description="The first reply is the first response: it moves `new → open`, stops the SLA clock and makes "
    "the replying agent the assignee. A `closed` ticket takes no more messages.",
    tag="admin",
    auth="agent",
    body="TicketMessageCreate",
    response="AgentTicketMessage",
    status=201,
    idempotency="optional",
    errors=("not_found", "own_case", "ticket_closed", *_KEY_ERRORS),
)
def reply(call: Call) -> Reply:
    message = ticket_desk.reply(call.user.user_id, call.params["ticket_id"], call.body.body, clock.now())
    return Reply(message, 201)


@operation(
    "POST",
    "/admin/tickets/{ticket_id}/status",
    schemas="tickets",
    summary="Set a ticket's status",
    description="`solved` emails the user; `closed` is final (any later change: 409 ticket_closed). Setting the "
    "status a ticket already has changes nothing.",
    tag="admin",
    auth="agent",
    body="TicketStatusChange",
    response="AgentTicket",
    errors=("not_found", "own_case", "ticket_closed"),
)
def set_status(call: Call) -> dict:
    return ticket_desk.set_status(call.user.user_id, call.params["ticket_id"], call.body.status, clock.now())
