"""Support tickets (客服) as the user sees them: open one, list and read them, add a message.

A ticket starts `new` with `first_response_due` = creation + 24 calendar hours, the promise the
acknowledgement email makes. Until the first agent reply `sla_due` marks the next SLA step (80 %
of that window, then the due time) for the `ticket_sla` job. The ticket, its first message, the
`created` audit event and the Idempotency-Key's answer are one TransactWriteItems.

Status: `new` → `open` on the first agent reply; agents set `open`, `pending` (waiting
for the customer), `solved` or `closed`; a user's message on a `pending` or `solved` ticket puts it
back to `open`; `closed` is final. Every status change is an audit event on `ticket#<id>`, written
in the same transaction, on the condition that the status is still the one read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.common import notice_outbox, rate_limits
from chalicelib.services.common.unit_of_work import Work, unit_of_work
from chalicelib.services.support import case_notices, sla
from chalicelib.services.support.case_threads import instant, message_view, new_message
from chalicelib.store.audit import AuditEvent, audit_event
from chalicelib.store.messages import Message, thread_messages
from chalicelib.store.tickets import Ticket, get_ticket
from chalicelib.store.wallet import TransactionRecord

FIRST_RESPONSE_WITHIN = timedelta(hours=24)  # calendar hours, nights and holidays included
OPENED_PER_DAY = 10  # per user
MESSAGES_PER_HOUR = 30  # per user, over all their cases (the key disputes count on too)
WRITE_ATTEMPTS = 3  # a status changed under us is re-read and the change re-applied


def thread_of(ticket_id: str) -> str:
    """The ticket's partition in `messages` and in `audit`."""
    return f"ticket#{ticket_id}"


# --- views -----------------------------------------------------------------------------------------


def ticket_view(ticket: Ticket, *, for_agent: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "ticket_id": ticket.ticket_id,
        "subject": ticket.subject,
        "category": ticket.category,
        "status": ticket.status,
        "source": ticket.source or "app",
        "first_response_due": instant(ticket.first_response_due),
        "escalated": bool(ticket.escalated),
        "created_at": instant(ticket.created_at),
        "updated_at": instant(ticket.updated_at),
    }
    if ticket.transaction_id:
        view["transaction_id"] = ticket.transaction_id
    if ticket.source == "email":  # section 13: who wrote, and whether that address is the owner's
        view["requester_email"] = ticket.requester_email
        view["verified_sender"] = bool(ticket.verified_sender)
    if for_agent:
        view["user_id"] = ticket.user_id
        view["first_responded_at"] = instant(ticket.first_responded_at)
        view["assignee"] = ticket.assignee
        view["overdue"] = (
            ticket.first_responded_at is None
            and ticket.status != "quarantined"  # held back: no SLA runs on it
            and ticket.first_response_due < clock.stamp(clock.now())
        )
    return view


# --- opening a ticket ------------------------------------------------------------------------------


def open_ticket(
    user_id: str,
    subject: str,
    body: str,
    category: str,
    transaction_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    """A new ticket with its first message; the user is sent an acknowledgement naming it."""
    rate_limits.hit(f"tickets#{user_id}", limit=OPENED_PER_DAY, window=timedelta(days=1), now=now)
    if transaction_id is not None:
        require_own_transaction(user_id, transaction_id)
    stamp = clock.stamp(now)
    ticket = new_ticket(user_id, subject, category, transaction_id, now, source="app")
    due = clock.from_stamp(ticket.first_response_due)
    view = ticket_view(ticket)
    detail = {"category": category, **({"transaction_id": transaction_id} if transaction_id else {})}
    when = case_notices.beijing_time(due)
    acknowledgement = case_notices.plan(user_id, "ticket_ack", ticket.ticket_id, now, subject=subject, when=when)
    try:
        with unit_of_work(now) as transaction:
            transaction.save(ticket, condition=Ticket.ticket_id.does_not_exist())
            transaction.save(new_message(thread_of(ticket.ticket_id), user_id, "user", body, now))
            transaction.save(audit_event(thread_of(ticket.ticket_id), user_id, "created", stamp, detail))
            if acknowledgement is not None:  # recorded with the ticket: a replayed key sends nothing again
                notice_outbox.record_in(transaction, acknowledgement.notices)
            transaction.answer(201, view)
    except TransactWriteError:
        raise
    logger.info("ticket opened", extra={"user_id": user_id, "ticket_id": ticket.ticket_id, "event": "ticket_opened"})
    case_notices.send_planned(acknowledgement, now)
    return view


def new_ticket(
    user_id: str | None, subject: str, category: str, transaction_id: str | None, now: datetime, *, source: str
) -> Ticket:
    """A ticket to write (in the caller's transaction): `new`, first response due in 24 hours."""
    stamp = clock.stamp(now)
    due = now + FIRST_RESPONSE_WITHIN
    return Ticket(
        f"tkt_{uuid.uuid4().hex}",
        status="new",
        user_id=user_id,
        subject=subject,
        category=category,
        transaction_id=transaction_id,
        source=source,
        first_response_due=clock.stamp(due),
        sla_due=clock.stamp(sla.reminder_at(now, due)),
        sla_stage="none",
        escalated=False,
        created_at=stamp,
        updated_at=stamp,
    )


def require_own_transaction(user_id: str, transaction_id: str) -> None:
    """A ticket may name only a transaction the caller is a party to; anything else is 404."""
    header = None
    if transaction_id.startswith("txn_"):
        try:
            header = TransactionRecord.get(transaction_id, consistent_read=True)
        except TransactionRecord.DoesNotExist:
            header = None
    if header is None or user_id not in (header.parties or []):
        raise OkpayError("not_found", field="transaction_id")


# --- reading ---------------------------------------------------------------------------------------


def own_ticket(user_id: str, ticket_id: str) -> Ticket:
    ticket = get_ticket(ticket_id) if ticket_id.startswith("tkt_") else None
    if ticket is None or ticket.user_id != user_id:
        raise OkpayError("not_found")
    return ticket


def read_ticket(user_id: str, ticket_id: str) -> dict[str, Any]:
    ticket = own_ticket(user_id, ticket_id)
    view = ticket_view(ticket)
    view["messages"] = [message_view(m) for m in thread_messages(thread_of(ticket_id))]
    return view


def list_tickets(user_id: str, limit: int, start: dict | None) -> tuple[list[dict[str, Any]], dict | None]:
    """One page of the caller's tickets, newest first, and where the next page starts."""
    results = Ticket.by_user.query(user_id, scan_index_forward=False, limit=limit, last_evaluated_key=start)
    items = [ticket_view(ticket) for ticket in results]
    return items, results.last_evaluated_key


# --- writing to a ticket ---------------------------------------------------------------------------


def require_not_closed(ticket: Ticket) -> None:
    if ticket.status == "closed":
        raise OkpayError("ticket_closed", details={"status": ticket.status})


def status_event(ticket_id: str, actor: str, before: str, after: str, cause: str, stamp: str) -> AuditEvent:
    return audit_event(
        thread_of(ticket_id), actor, "status_changed", stamp, {"from": before, "to": after, "cause": cause}
    )


def write_on_ticket(
    ticket: Ticket,
    reload: Callable[[], Ticket],
    change: Callable[[Ticket, Work], None],
) -> Ticket:
    """Run `change` in one TransactWriteItems; `change` conditions its update on the status it read.

    When that status moved under us (a concurrent reply or status change), the ticket is re-read
    and the change written again from what is there now; a ticket closed meanwhile is 409.
    """
    for _ in range(WRITE_ATTEMPTS):
        require_not_closed(ticket)
        try:
            with unit_of_work() as transaction:
                change(ticket, transaction)
            return ticket
        except TransactWriteError as error:
            if not _lost_a_race(error):
                raise
            ticket = reload()
    require_not_closed(ticket)
    raise OkpayError("try_again", retry_after=1)


def _lost_a_race(error: TransactWriteError) -> bool:
    """The write was refused because the ticket changed (or was being changed) under us."""
    reasons = getattr(error, "cancellation_reasons", None) or []
    return any(r is not None and r.code in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons)


def add_user_message(user_id: str, ticket_id: str, body: str, now: datetime) -> dict[str, Any]:
    """The user writes on their ticket; on a `pending` or `solved` ticket that reopens it (`open`)."""
    rate_limits.hit(f"case_messages#{user_id}", limit=MESSAGES_PER_HOUR, window=timedelta(hours=1), now=now)
    ticket = own_ticket(user_id, ticket_id)
    stamp = clock.stamp(now)
    view: dict[str, Any] = {}

    def change(current: Ticket, transaction: Work) -> None:
        message = new_message(thread_of(ticket_id), user_id, "user", body, now)
        view.clear()
        view.update(message_view(message))
        actions = [Ticket.updated_at.set(stamp)]
        if current.status in ("pending", "solved"):
            actions.append(Ticket.status.set("open"))
            cause = "reopened" if current.status == "solved" else "user_reply"
            transaction.save(status_event(ticket_id, user_id, current.status, "open", cause, stamp))
        transaction.save(message, condition=Message.message_key.does_not_exist())
        transaction.update(Ticket(ticket_id), actions=actions, condition=Ticket.status == current.status)
        transaction.answer(201, dict(view))

    try:
        write_on_ticket(ticket, lambda: own_ticket(user_id, ticket_id), change)
    except OkpayError:
        raise
    return view
