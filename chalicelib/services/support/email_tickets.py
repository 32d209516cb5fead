"""Writing to the requester of an email ticket (contract section 13): the acknowledgement, agents'
replies and the solved notice, by email, in the ticket's language, with the ticket's signed reply
address as `Reply-To`.

The requester is the owner's verified email when the ticket has an owner (it may have changed since
the mail came), else the address the mail came from. SES's MessageId of each email sent is kept
(`out#…` in table `mail`), so an answer whose `In-Reply-To`/`References` names it finds the ticket.
Every email goes through the notice outbox: a failed send never fails the change that caused it and
is retried by `notify_dispatch`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.i18n.locale import DEFAULT_LOCALE
from chalicelib.services.common import notice_outbox
from chalicelib.services.support.reply_addresses import reply_address
from chalicelib.store.notices import Notice
from chalicelib.store.tickets import Ticket
from chalicelib.store.users import get_user


def is_email_ticket(ticket: Ticket) -> bool:
    return ticket.source == "email"


def requester_address(ticket: Ticket) -> str | None:
    if ticket.user_id:
        owner = get_user(ticket.user_id)
        if owner is not None and owner.status != "closed" and owner.email and owner.email_verified:
            return owner.email
        if owner is None or owner.status == "closed":
            return None
    return ticket.requester_email


def write_to_requester(ticket: Ticket, template: str, now: datetime, **params: Any) -> bool:
    """Email the requester `template` about `ticket`; False when there is nobody to write to.

    Called once the ticket's change has committed: the email is recorded in the outbox right after
    it and before the send (`notice_outbox.deliver`). A caller that can put it in the change's own
    transaction uses `mail_to_requester` with `notice_outbox.record_in` instead.
    """
    mail = mail_to_requester(ticket, template, now, **params)
    return notice_outbox.deliver([mail], now) if mail is not None else False


def mail_to_requester(ticket: Ticket, template: str, now: datetime, **params: Any) -> Notice | None:
    """The email to the requester (not yet recorded); None when there is nobody to write to. Whichever
    attempt sends it (the request or `notify_dispatch`) keeps SES's MessageId for threading."""
    to = requester_address(ticket)
    if not to:
        return None
    return notice_outbox.email(
        to,
        template,
        ticket.locale or DEFAULT_LOCALE,
        now,
        reply_to=reply_address(ticket.ticket_id),
        ticket_id=ticket.ticket_id,
        case_id=ticket.ticket_id,
        subject=ticket.subject,
        **params,
    )
