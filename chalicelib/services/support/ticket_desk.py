"""Support tickets as agents work them: the queue, the whole case, replies and status changes.

The first agent reply is the first response the SLA measures: it sets `first_responded_at`,
removes `sla_due` (so `ticket_sla` leaves the ticket alone), moves `new → open` and makes the
replying agent the assignee. `closed` is final: every later message or status change is
`409 ticket_closed`. `solved` emails the user, who can reopen the ticket by replying.
An email ticket (section 13) is answered by email to its requester, with its signed reply address
(chalicelib.services.support.email_tickets); one from an unverified sender has no owner, so it is no
agent's own case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.common.unit_of_work import Work
from chalicelib.services.identity.agents import refuse_own_case
from chalicelib.services.support import case_notices
from chalicelib.services.support.case_threads import events_view, message_view, new_message
from chalicelib.services.support.email_tickets import is_email_ticket, write_to_requester
from chalicelib.services.support.queue_pages import merge_page, pending_statuses
from chalicelib.services.support.tickets import (
    status_event,
    thread_of,
    ticket_view,
    write_on_ticket,
)
from chalicelib.store.audit import audit_event
from chalicelib.store.messages import thread_messages
from chalicelib.store.tickets import Ticket, get_ticket

ACTIVE_STATUSES = ("new", "open", "pending")  # the queue agents work when no status is asked for


def agent_ticket(ticket_id: str) -> Ticket:
    ticket = get_ticket(ticket_id) if ticket_id.startswith("tkt_") else None
    if ticket is None:
        raise OkpayError("not_found")
    return ticket


def ticket_to_work(actor_id: str, ticket_id: str) -> Ticket:
    """The ticket an agent is about to act on: 404 when there is none, then 403 own_case when it is
    the agent's own (before 409 ticket_closed: who may act does not depend on the state)."""
    ticket = agent_ticket(ticket_id)
    refuse_own_case(actor_id, ticket.user_id)
    return ticket


def read_for_agent(ticket_id: str) -> dict[str, Any]:
    """The whole case: the ticket, its messages with their authors and every recorded event."""
    ticket = agent_ticket(ticket_id)
    view = ticket_view(ticket, for_agent=True)
    view["messages"] = [message_view(m, for_agent=True) for m in thread_messages(thread_of(ticket_id))]
    view["events"] = events_view(thread_of(ticket_id))
    return view


# --- the queue -------------------------------------------------------------------------------------


def queue_page(
    statuses: tuple[str, ...], *, limit: int, position: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Oldest `first_response_due` first over `statuses`: one Query each on GSI
    by_first_response_due, merged.

    `position` maps each status to the index key its next Query starts after (absent: from the
    start; None: that status was used up on an earlier page).
    """
    position = dict(position or {})
    streams: dict[str, list[Ticket]] = {}
    for status in pending_statuses(statuses, position):
        results = Ticket.by_first_response_due.query(
            status, limit=limit + 1, page_size=limit + 1, last_evaluated_key=position.get(status)
        )
        streams[status] = list(results)
    page, following = merge_page(
        streams, limit=limit, due=lambda t: t.first_response_due, index_key=_index_key, position=position
    )
    return [ticket_view(t, for_agent=True) for t in page], following


def _index_key(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": {"S": ticket.ticket_id},
        "status": {"S": ticket.status},
        "first_response_due": {"S": ticket.first_response_due},
    }


# --- agent actions ---------------------------------------------------------------------------------


def reply(actor_id: str, ticket_id: str, body: str, now: datetime) -> dict[str, Any]:
    """An agent's message; the user is emailed. The first one is the ticket's first response."""
    ticket = ticket_to_work(actor_id, ticket_id)
    stamp = clock.stamp(now)
    view: dict[str, Any] = {}

    def change(current: Ticket, transaction: Work) -> None:
        message = new_message(thread_of(ticket_id), actor_id, "agent", body, now)
        view.clear()
        view.update(message_view(message, for_agent=True))
        actions = [Ticket.updated_at.set(stamp), Ticket.assignee.set(actor_id)]
        condition = Ticket.status == current.status
        if current.first_responded_at is None:
            actions += [Ticket.first_responded_at.set(stamp), Ticket.sla_due.remove()]
            condition &= Ticket.first_responded_at.does_not_exist()
            late = stamp > current.first_response_due
            transaction.save(audit_event(thread_of(ticket_id), actor_id, "first_response", stamp, {"late": late}))
        if current.status == "new":
            actions.append(Ticket.status.set("open"))
            transaction.save(status_event(ticket_id, actor_id, "new", "open", "agent_reply", stamp))
        transaction.save(message)
        transaction.update(Ticket(ticket_id), actions=actions, condition=condition)
        transaction.answer(201, dict(view))

    ticket = write_on_ticket(ticket, lambda: agent_ticket(ticket_id), change)
    if is_email_ticket(ticket):  # answered by email, with the reply address: the requester may have no app
        write_to_requester(ticket, "email_ticket_reply_email", now, body=body)
    else:
        case_notices.tell_user(ticket.user_id, "ticket_reply", ticket_id, subject=ticket.subject, body=body)
    return view


def set_status(actor_id: str, ticket_id: str, status: str, now: datetime) -> dict[str, Any]:
    """Move a ticket to `open`, `pending`, `solved` or `closed`; asking for its current status is a
    no-op (nothing recorded, nobody emailed)."""
    ticket = ticket_to_work(actor_id, ticket_id)
    stamp = clock.stamp(now)
    changed: list[str] = []

    def change(current: Ticket, transaction: Work) -> None:
        changed.clear()
        if current.status == status:  # still so, or it moved: then the write is tried again
            transaction.condition_check(Ticket, ticket_id, condition=Ticket.status == status)
            return
        actions = [Ticket.status.set(status), Ticket.updated_at.set(stamp)]
        if status == "closed":
            actions.append(Ticket.sla_due.remove())  # a closed ticket never escalates
        transaction.update(Ticket(ticket_id), actions=actions, condition=Ticket.status == current.status)
        transaction.save(status_event(ticket_id, actor_id, current.status, status, "agent", stamp))
        changed.append(current.status)

    ticket = write_on_ticket(ticket, lambda: agent_ticket(ticket_id), change)
    if not changed:
        return ticket_view(ticket, for_agent=True)
    ticket.status, ticket.updated_at = status, stamp
    if status == "closed":
        ticket.sla_due = None
    logger.info(
        "ticket status changed",
        extra={"ticket_id": ticket_id, "from": changed[0], "to": status, "event": "ticket_status"},
    )
    if status == "solved" and is_email_ticket(ticket):
        write_to_requester(ticket, "email_ticket_solved_email", now)
    elif status == "solved":
        case_notices.tell_user(ticket.user_id, "ticket_solved", ticket_id, subject=ticket.subject)
    return ticket_view(ticket, for_agent=True)
