"""Mail to the support address becomes tickets (contract section 13). One entry point, `receive`, for
the deployed SQS handler and for `POST /_local/inbound-email`.

The pipeline, in this order; each step's outcome is final:

1. Virus `FAIL` → `ignored`: dropped, the raw message deleted from the mail bucket, nothing recorded.
2. Parsing (chalicelib.services.support.mail_parsing). A message that cannot be read → `ignored`,
   logged without its content.
3. De-duplication: a conditional put of the Message-ID's marker (`in#…`, table `mail`); a mail
   without a Message-ID is known by a hash of its bytes. The same mail again, even at the same
   moment → `duplicate`. The marker is completed in the transaction that writes the outcome, and
   released when processing fails, so a redelivery is processed then.
   The raw message is kept in the mail bucket from here on (deployed: SES already put it there).
4. Automatic mail (`Auto-Submitted` other than `no`, `Precedence: bulk|list|junk`, an empty
   `Return-Path`, a delivery report) and mail from our own addresses → `ignored`.
5. Spam `FAIL`, or DMARC `FAIL` with `dmarc_policy: reject` → `quarantined`: a ticket with status
   `quarantined`, no owner, no acknowledgement; agents see it under ?status=quarantined.
6. Threading → `message_added` (a `pending` or `solved` ticket is reopened): (a) a signed reply
   address among the recipients (a forged or unknown one opens a new ticket, whatever else the mail
   says); (b) `In-Reply-To`/`References` naming an email we sent; (c) a ticket number in the
   subject, only from the ticket's verified owner. A closed ticket takes no more: a new one opens.
7. A new ticket → `ticket_created` (`source: email`, category `other`, first response due in 24
   hours) and an acknowledgement naming it, with the reply address. At most 10 new tickets
   (quarantined ones included) per sender address per Beijing day, counted atomically before the
   ticket is written; past it → `ignored`.

Who owns a ticket: a From address that is an account's verified email (the exact claim, as
GET /admin/users?email= finds it), on a mail that passed DKIM or SPF with DMARC not `FAIL`. Any
other sender's ticket has `requester_email`, `verified_sender: false` and no owner: no user sees it.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.adapters import clock
from chalicelib.adapters.config import get_settings
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.common import notice_outbox
from chalicelib.services.common.unit_of_work import Work, unit_of_work
from chalicelib.services.support import case_notices, email_tickets, mail_files, mail_parsing, reply_addresses
from chalicelib.services.support.case_threads import new_message
from chalicelib.services.support.mail_parsing import ParsedMail, UnreadableMail
from chalicelib.services.support.tickets import new_ticket, status_event, thread_of, write_on_ticket
from chalicelib.store.audit import audit_event
from chalicelib.store.conditions import condition_failed
from chalicelib.store.counters import Counter
from chalicelib.store.mail import (
    INBOUND_KEPT,
    STALE_CLAIM,
    MailRecord,
    get_record,
    inbound_key,
    outbound_key,
)
from chalicelib.store.messages import Message
from chalicelib.store.tickets import Ticket, get_ticket
from chalicelib.store.users import User, email_claim, find_claim_owner, get_user

NEW_TICKETS_PER_DAY = 10  # per sender address, Beijing day
_TICKET_NUMBER = re.compile(r"\btkt_[0-9a-f]{32}\b", re.IGNORECASE)
_CHINESE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NO_SUBJECT = {"zh-CN": "（无主题）", "en": "(no subject)"}


def receive(raw: bytes, verdicts: dict[str, str], now: datetime, *, raw_key: str | None = None) -> dict:
    """-> {"result": "ticket_created"|"message_added"|"quarantined"|"ignored"|"duplicate", "ticket_id"?: str}
    verdicts: keys spam, virus, spf, dkim, dmarc ("PASS"|"FAIL"|"GRAY"), dmarc_policy ("none"|"quarantine"|"reject");
    missing = PASS / none.
    raw_key: where the raw message already is in the mail bucket (deployed: SES put it there); None → store it."""
    verdict = _Verdicts(verdicts)
    if verdict.failed("virus"):
        if raw_key:
            mail_files.drop_raw(raw_key)
        logger.warning("inbound mail dropped: virus", extra={"event": "inbound_mail", "result": "ignored"})
        return {"result": "ignored"}
    try:
        mail = mail_parsing.parse(raw)
    except UnreadableMail as error:
        logger.warning(
            "inbound mail ignored: unreadable",
            extra={"event": "inbound_mail", "result": "ignored", "reason": str(error), "size": len(raw)},
        )
        return {"result": "ignored"}

    inbound = _Inbound(mail, now)
    earlier = inbound.claim()
    if earlier is not None:
        logger.info("inbound mail duplicate", extra={"event": "inbound_mail", "result": "duplicate"})
        return {"result": "duplicate", **({"ticket_id": earlier.ticket_id} if earlier.ticket_id else {})}
    try:
        inbound.raw_key = raw_key or mail_files.store_raw(raw, now)
        outcome = _process(mail, verdict, inbound, now)
    except BaseException:
        inbound.release()  # a redelivery (SQS) processes it again
        raise
    logger.info("inbound mail processed", extra={"event": "inbound_mail", **outcome})
    return {key: outcome[key] for key in ("result", "ticket_id") if key in outcome}


class _Verdicts:
    def __init__(self, verdicts: dict[str, str] | None) -> None:
        self.values = {key: str(value or "").upper() for key, value in (verdicts or {}).items()}

    def failed(self, check: str) -> bool:
        return self.values.get(check) == "FAIL"

    def passed(self, check: str) -> bool:
        return self.values.get(check, "PASS") == "PASS"

    @property
    def quarantine(self) -> bool:
        reject = self.values.get("dmarc_policy") == "REJECT"
        return self.failed("spam") or (self.failed("dmarc") and reject)

    @property
    def authenticated(self) -> bool:
        return (self.passed("dkim") or self.passed("spf")) and not self.failed("dmarc")


class _Inbound:
    """The mail's de-duplication marker: claimed before processing, completed with the outcome."""

    def __init__(self, mail: ParsedMail, now: datetime) -> None:
        self.key = inbound_key(hashlib.sha256(mail.message_id.encode("utf-8")).hexdigest())
        self.token = uuid.uuid4().hex
        self.now = now
        self.raw_key: str | None = None

    def claim(self) -> MailRecord | None:
        """None when this call now processes the mail; else the record of the delivery that did."""
        stamp = clock.stamp(self.now)
        stale = clock.stamp(self.now - STALE_CLAIM)
        record = MailRecord(
            self.key,
            state="processing",
            claim=self.token,
            claimed_at=stamp,
            created_at=stamp,
            expires_ttl=self.now + INBOUND_KEPT,
        )
        try:
            record.save(
                condition=MailRecord.mail_key.does_not_exist()
                | ((MailRecord.state == "processing") & (MailRecord.claimed_at < stale))
            )
            return None
        except PutError as error:
            if not condition_failed(error):
                raise
        return get_record(self.key) or MailRecord(self.key, created_at=stamp)

    def complete(self, transaction: Work, result: str, ticket_id: str | None) -> None:
        """Mark the mail done inside the transaction that writes its outcome (still ours to finish)."""
        transaction.update(MailRecord(self.key), actions=self._done(result, ticket_id), condition=self._ours())

    def complete_alone(self, result: str) -> None:
        try:
            MailRecord(self.key).update(actions=self._done(result, None), condition=self._ours())
        except UpdateError as error:
            if not condition_failed(error):
                raise

    def release(self) -> None:
        try:
            MailRecord(self.key).delete(condition=self._ours() & (MailRecord.state == "processing"))
        except Exception as error:  # DynamoDB down: the claim goes stale and is taken over then
            if not condition_failed(error):  # else: taken over or done meanwhile, nothing to release
                logger.exception("inbound mail claim not released", extra={"event": "inbound_mail"})

    def _ours(self) -> Any:
        return MailRecord.claim == self.token

    def _done(self, result: str, ticket_id: str | None) -> list[Any]:
        actions = [MailRecord.state.set("done"), MailRecord.result.set(result)]
        if ticket_id:
            actions.append(MailRecord.ticket_id.set(ticket_id))
        if self.raw_key:
            actions.append(MailRecord.raw_key.set(self.raw_key))
        return actions


# --- the steps after de-duplication ----------------------------------------------------------------


def _process(mail: ParsedMail, verdict: _Verdicts, inbound: _Inbound, now: datetime) -> dict[str, Any]:
    settings = get_settings()
    if mail.automatic or mail.sender in (settings.support_email.lower(), settings.ses_sender.lower()):
        inbound.complete_alone("ignored")  # our own mail coming back would loop
        return {"result": "ignored", "reason": "automatic"}
    if verdict.quarantine:
        return _open_ticket(mail, None, inbound, now, quarantined=True)
    owner = _owner(mail, verdict)
    ticket = _ticket_replied_to(mail, owner)
    if ticket is not None:
        try:
            return _add_to_ticket(ticket, mail, owner, inbound, now)
        except OkpayError as error:
            if error.code != "ticket_closed":  # closed meanwhile: the mail opens a new ticket
                raise
    return _open_ticket(mail, owner, inbound, now, quarantined=False)


def _owner(mail: ParsedMail, verdict: _Verdicts) -> User | None:
    """The account whose verified email sent this authenticated mail; None for anyone else."""
    if not verdict.authenticated:
        return None
    user_id = find_claim_owner(email_claim(mail.sender))
    user = get_user(user_id) if user_id else None
    if user is None or user.status == "closed" or not user.email_verified or (user.email or "").lower() != mail.sender:
        return None
    return user


def _ticket_replied_to(mail: ParsedMail, owner: User | None) -> Ticket | None:
    ticket_id, forged = reply_addresses.ticket_of(mail.recipients)
    if forged:
        logger.warning("inbound mail: forged reply address", extra={"event": "inbound_mail"})
        return None
    if ticket_id is not None:
        return _open_for_mail(get_ticket(ticket_id))  # unknown: a new ticket
    for reference in mail.references:
        local, _, domain = reference.partition("@")
        if domain.endswith("amazonses.com"):
            record = get_record(outbound_key(local))
            if record is not None and record.ticket_id:
                ticket = _open_for_mail(get_ticket(record.ticket_id))
                if ticket is not None:
                    return ticket
    if owner is not None:
        for number in _TICKET_NUMBER.findall(mail.subject):
            ticket = _open_for_mail(get_ticket(number.lower()))
            if ticket is not None and ticket.user_id == owner.user_id:
                return ticket
    return None


def _open_for_mail(ticket: Ticket | None) -> Ticket | None:
    if ticket is None or ticket.status in ("closed", "quarantined"):
        return None
    return ticket


def _author(ticket: Ticket, owner: User | None, mail: ParsedMail) -> str:
    if owner is not None and ticket.user_id == owner.user_id:
        return owner.user_id
    return f"email:{mail.sender}"


def _message(ticket_id: str, author_id: str, mail: ParsedMail, text: str, inbound: _Inbound, now: datetime) -> Message:
    message = new_message(thread_of(ticket_id), author_id, "user", text, now)
    kept, skipped = mail_files.keep_attachments(mail.attachments, ticket_id, message.message_id)
    message.attachments = kept or None
    message.skipped_attachments = skipped or None
    message.raw_key = inbound.raw_key
    return message


def _add_to_ticket(
    ticket: Ticket, mail: ParsedMail, owner: User | None, inbound: _Inbound, now: datetime
) -> dict[str, Any]:
    stamp = clock.stamp(now)
    author_id = _author(ticket, owner, mail)
    message = _message(ticket.ticket_id, author_id, mail, mail.text, inbound, now)

    def change(current: Ticket, transaction: Work) -> None:
        actions = [Ticket.updated_at.set(stamp)]
        if current.status in ("pending", "solved"):
            actions.append(Ticket.status.set("open"))
            cause = "reopened" if current.status == "solved" else "user_reply"
            transaction.save(status_event(ticket.ticket_id, author_id, current.status, "open", cause, stamp))
        transaction.save(message, condition=Message.message_key.does_not_exist())
        transaction.update(Ticket(ticket.ticket_id), actions=actions, condition=Ticket.status == current.status)
        inbound.complete(transaction, "message_added", ticket.ticket_id)

    write_on_ticket(ticket, lambda: get_ticket(ticket.ticket_id) or ticket, change)
    return {"result": "message_added", "ticket_id": ticket.ticket_id}


def _open_ticket(
    mail: ParsedMail, owner: User | None, inbound: _Inbound, now: datetime, *, quarantined: bool
) -> dict[str, Any]:
    if not _count_new_ticket(mail.sender, now):
        inbound.complete_alone("ignored")
        return {"result": "ignored", "reason": "daily_cap"}
    locale = (owner.locale if owner is not None else None) or _language_of(mail)
    subject = mail.subject or _NO_SUBJECT[locale]
    ticket = new_ticket(owner.user_id if owner else None, subject, "other", None, now, source="email")
    ticket.requester_email = mail.sender
    ticket.verified_sender = owner is not None
    ticket.locale = locale
    result = "ticket_created"
    if quarantined:  # held back: no owner, no SLA clock, no acknowledgement
        ticket.status, ticket.sla_due, result = "quarantined", None, "quarantined"
    author_id = owner.user_id if owner else f"email:{mail.sender}"
    message = _message(ticket.ticket_id, author_id, mail, mail.text, inbound, now)
    acknowledgement = None
    if not quarantined:
        when = case_notices.beijing_time(clock.from_stamp(ticket.first_response_due))
        acknowledgement = email_tickets.mail_to_requester(ticket, "email_ticket_ack_email", now, when=when)
    with unit_of_work(now) as transaction:
        transaction.save(ticket, condition=Ticket.ticket_id.does_not_exist())
        transaction.save(message)
        transaction.save(
            audit_event(thread_of(ticket.ticket_id), author_id, "created", clock.stamp(now), {"category": "other"})
        )
        inbound.complete(transaction, result, ticket.ticket_id)
        acknowledged = notice_outbox.record_in(transaction, [acknowledgement])  # once, with the ticket
    notice_outbox.send_after_commit(acknowledged, now)
    return {"result": result, "ticket_id": ticket.ticket_id}


def _count_new_ticket(sender: str, now: datetime) -> bool:
    """Count one new ticket for `sender` today (Beijing); False, and nothing counted, past the cap."""
    day = clock.to_shanghai(now).date()
    try:
        Counter(f"email_tickets#{sender}#{day.isoformat()}").update(
            actions=[Counter.count.add(1), Counter.expires_ttl.set(now + timedelta(days=2))],
            condition=Counter.count.does_not_exist() | (Counter.count < NEW_TICKETS_PER_DAY),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _language_of(mail: ParsedMail) -> str:
    return "zh-CN" if _CHINESE.search(f"{mail.subject}\n{mail.text}") else "en"
