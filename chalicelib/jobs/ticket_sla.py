"""`ticket_sla` job (every 15 min): a ticket with no first agent reply gets its assignee (or the
support mailbox) reminded at 80 % of the 24 hours to `first_response_due`; past it the ticket is
`escalated`, the support lead alerted and the user told once.

Only the statuses `new`, `open` and `pending` are read: a solved or closed ticket is not chased, and
a solved one that the user reopens takes up its SLA step again. The machinery is
chalicelib.jobs.sla_runner's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.jobs import sla_runner
from chalicelib.store.tickets import SLA_STATUSES, Ticket

JOB = "ticket_sla"


def _waiting_for_an_agent() -> Any:
    return Ticket.first_responded_at.does_not_exist() & Ticket.status.is_in(*SLA_STATUSES)


TICKETS = sla_runner.SlaCases(
    job=JOB,
    kind="ticket",
    model=Ticket,
    statuses=SLA_STATUSES,
    case_id=lambda ticket: ticket.ticket_id,
    deadline=lambda ticket: ticket.first_response_due,
    still_waiting=_waiting_for_an_agent,
)


def run(now: datetime) -> dict[str, Any]:
    return sla_runner.run(TICKETS, now)
