"""Writing to the requester of an email ticket (contract section 13): the acknowledgement, agents'
replies and the solved notice, by email, in the ticket's language, with the ticket's signed reply
address as `Reply-To`.

The requester is the owner's verified email when the ticket has an owner (it may have changed since
the mail came), else the address the mail came from. SES's MessageId of each email sent is kept
(`out#…` in table `mail`), so an answer whose `In-Reply-To`/`References` names it finds the ticket.
A failed send is logged and never fails the change that caused it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters import clock, notify
from chalicelib.adapters.config import get_settings
from chalicelib.adapters.logging import logger
from chalicelib.i18n.locale import DEFAULT_LOCALE
from chalicelib.services.support.reply_addresses import reply_address
from chalicelib.store.mail import remember_outbound
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
    """Email the requester `template` about `ticket`; False when there is nobody to write to or SES refused."""
    to = requester_address(ticket)
    if not to:
        return False
    try:
        ses_id = notify.send_email(
            to,
            template,
            ticket.locale or DEFAULT_LOCALE,
            reply_to=reply_address(ticket.ticket_id),
            case_id=ticket.ticket_id,
            subject=ticket.subject,
            **params,
        )
    except Exception:
        logger.exception("email ticket mail not sent", extra={"ticket_id": ticket.ticket_id, "template": template})
        return False
    if ses_id:
        header_id = f"<{ses_id}@{get_settings().region}.amazonses.com>"
        try:
            remember_outbound(ses_id, header_id, ticket.ticket_id, now, clock.stamp(now))
        except Exception:  # the reply address and the subject still thread an answer
            logger.exception("outbound message id not kept", extra={"ticket_id": ticket.ticket_id})
    return True
