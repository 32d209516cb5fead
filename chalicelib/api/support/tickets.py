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
    description=(
        "Opens a ticket with `status: new`; `body` is its first message. The first agent reply is due in 24 "
        "calendar hours (`first_response_due`, nights and holidays included) and the user is sent an "
        "acknowledgement email naming the ticket. At most 10 tickets a day per user.\n\n"
        "Checks after validation: `429 rate_limited` → `404 not_found` with `field: transaction_id` (no such "
        "transaction of the caller's). An `Idempotency-Key` is optional and honoured."
    ),
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
    description=(
        "Every ticket the caller opened, whatever its status, newest first; `?limit=` (1–100, default 20) and "
        "the opaque `?cursor=` of the previous page."
    ),
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
    description=("The ticket with its conversation, oldest first; another user's ticket is `404 not_found`."),
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
    description=(
        "Adds the caller's message (1–5,000 characters). On a `pending` or `solved` ticket it makes the ticket "
        "`open` again; a `closed` ticket takes no more messages (`409 ticket_closed`: open a new one). At most "
        "30 messages an hour per user over all their tickets and disputes. An `Idempotency-Key` is optional and "
        "honoured."
    ),
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
    description=(
        "The agents' ticket desk, oldest `first_response_due` first. Without `status`: the active tickets "
        "(`new`, `open` and `pending`) merged in one order; `?status=` picks one status."
    ),
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
    description=(
        "An addition to the contract (section 7 lists no agent read of one ticket): agents need the whole case "
        "to answer it. The ticket with its user, the first response, its messages with their authors and every "
        "recorded change (created, first_response, status_changed, SLA reminders and escalation), oldest first."
    ),
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
    description=(
        "Adds an agent message; the user is emailed it. The first reply is the first response: it moves "
        "`new → open`, stops the SLA clock (`first_responded_at`) and makes the replying agent the assignee. "
        "Checks: 404 → `403 own_case` (an agent never handles their own ticket) → `409 ticket_closed`. An "
        "`Idempotency-Key` is optional and honoured."
    ),
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
    description=(
        "Moves the ticket to `open`, `pending` (waiting for the customer), `solved` (the user is emailed and can "
        "reopen it by replying) or `closed` (final: any later change or message is `409 ticket_closed`). Setting "
        "the status a ticket already has changes nothing and sends nothing. Checks: 404 → `403 own_case` (the "
        "agent's own ticket) → `409 ticket_closed`."
    ),
    tag="admin",
    auth="agent",
    body="TicketStatusChange",
    response="AgentTicket",
    examples={200: "AGENT_TICKET_SOLVED_EXAMPLE"},
    errors=("not_found", "own_case", "ticket_closed"),
)
def set_status(call: Call) -> dict:
    return ticket_desk.set_status(call.user.user_id, call.params["ticket_id"], call.body.status, clock.now())
