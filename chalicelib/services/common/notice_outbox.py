"""The notice outbox (contract v1.2, section 1 "Faults"): every email and SMS that is not a one-time
code — notices, acknowledgements, replies, transcripts — is recorded with the change that causes it
(table `notices`), sent right after that change commits in the same request, and retried by the
`notify_dispatch` job when that send fails, so an outage delays a notice but never loses it or fails
the request. Codes stay synchronous (a code that cannot be sent is a 503).

    notices = [notice_outbox.email(user.email, "kyc_approved_email", locale, now, level=2)]
    with unit_of_work(now) as work:          # the change, and the notices with it
        ...
        notice_outbox.record_in(work, notices)
    notice_outbox.send_after_commit(notices, now)

Where the change is not one transaction of ours (or has committed before the notice is known),
`deliver` writes the rows right after it and before any send: a crash between the change and that
write is the one gap left, and it is no wider than one PutItem.

Attempts: each first claims the notice — a conditional update on the attempts counter and due time
read, on `pending` — that counts the attempt and pushes `send_due` a lease ahead, so the request and
overlapping job runs never send one notice twice at once, and a worker that dies mid-send leaves it
due again when the lease ends. A failed send is due again after `RETRY_DELAYS` (1 m, 2 m, 5 m, 15 m,
30 m, 1 h, 2 h, 4 h, 8 h, then every 8 h), never later than `GIVE_UP_AFTER` from its creation; when
the attempt at that deadline fails too, the notice is `failed` and ONE alert goes to the alert topic
(the recipient masked, no text of the message).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.adapters import aws, clock, notify
from chalicelib.adapters.config import get_settings
from chalicelib.adapters.logging import logger
from chalicelib.adapters.phone_numbers import mask_phone
from chalicelib.services.common.dispatch import RunBudget, due_keys, in_pool, next_attempt_at
from chalicelib.store.conditions import condition_failed
from chalicelib.store.mail import remember_outbound
from chalicelib.store.notices import KEPT, SEND_SHARDS, Notice, due_notices, new_notice_id, send_shard_of

LEASE = timedelta(minutes=5)  # a claimed attempt holds the notice this long (well past SES's timeouts)
RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (1, 2, 5, 15, 30, 60, 120, 240, 480))  # the last repeats
GIVE_UP_AFTER = timedelta(hours=24)  # after its creation: the last attempt, then `failed` and an alert
RUN_BUDGET_SECONDS = 240.0  # a job run starts no attempt after this (the function's timeout is 300 s)
WORKERS = 8  # attempts at once in a job run: each mostly waits on SES or SNS (a throttled one is retried)
# Recording a send that went out, through a busy DynamoDB (botocore's retries spent): tries, and the
# first pause (doubling). A notice left `pending` after its send would be sent again by the job.
SENT_RECORD_TRIES = 8
SENT_RECORD_PAUSE = 0.01

# A value made only when the message is sent, never stored (a "this wasn't me" freeze token):
# name -> (notice, now) -> (template, extra params). The funnel that records such notices passes it.
LateParams = Mapping[str, Callable[[Notice, datetime], tuple[str, dict[str, Any]]]]


# --- building and recording -----------------------------------------------------------------------


def email(
    to: str,
    template: str,
    locale: str,
    now: datetime,
    *,
    reply_to: str | None = None,
    ticket_id: str | None = None,
    late: str | None = None,
    user_id: str | None = None,
    **params: Any,
) -> Notice:
    """An email notice to record (not yet written)."""
    fields = {"reply_to": reply_to, "ticket_id": ticket_id, "late": late, "user_id": user_id}
    return _notice("email", to, template, locale, now, params=params, **fields)


def sms(
    to: str, template: str, locale: str, now: datetime, *, user_id: str | None = None, **params: Any
) -> Notice | None:
    """An SMS notice to record; None for a number in a country we do not text (nothing to retry)."""
    if not notify.can_text(to):
        logger.warning(
            "sms notice not recorded: country not enabled", extra={"to": mask_phone(to), "template": template}
        )
        return None
    return _notice("sms", to, template, locale, now, user_id=user_id, params=params)


def record_in(work: Any, notices: Iterable[Notice | None]) -> list[Notice]:
    """Put the notices in the change's transaction (`unit_of_work`'s `Work`): they commit with it or not at all."""
    recorded = [notice for notice in notices if notice is not None]
    for notice in recorded:
        work.save(notice, condition=Notice.notice_id.does_not_exist(), label=("notice", notice.notice_id))
    return recorded


def withdraw(notices: Iterable[Notice]) -> None:
    """Take back notices committed with a change that was then undone (a withdrawal whose payout the
    bank refused is returned to the wallet): deleted while nobody has attempted them yet, which no one
    has while their request runs (a new row is not due for minutes). Never raises: a notice that could
    not be taken back is still sent."""
    for notice in notices:
        try:
            notice.delete(condition=(Notice.status == "pending") & (Notice.attempts == 0))
        except Exception:
            logger.exception("notice not withdrawn", extra={"notice_id": notice.notice_id})


def send_after_commit(notices: Iterable[Notice], now: datetime, late: LateParams | None = None) -> None:
    """The first attempt of notices just committed; never raises (the change stands, the job retries)."""
    for notice in notices:
        try:
            _attempt(notice, now, due=notice.send_due, late=late or {})
        except Exception:
            logger.exception("notice first attempt failed", extra={"notice_id": notice.notice_id})


def deliver(notices: Iterable[Notice | None], now: datetime, late: LateParams | None = None) -> bool:
    """Record the notices right after a change that has committed, then send them; never raises.
    A notice that could not even be recorded (DynamoDB refused past its retries) is sent once
    without a row, as before the outbox, rather than dropped. False when nothing was recorded or sent."""
    recorded, any_sent = [], False
    for notice in notices:
        if notice is None:
            continue
        try:
            notice.save(condition=Notice.notice_id.does_not_exist())
        except Exception as error:
            if not condition_failed(error):  # refused as present: a retried Put whose first try landed
                logger.exception("notice not recorded: sent once without retries", extra={"template": notice.template})
                any_sent = _send_unrecorded(notice, now, late or {}) or any_sent
                continue
        recorded.append(notice)
    send_after_commit(recorded, now, late)
    return bool(recorded) or any_sent


# --- the job --------------------------------------------------------------------------------------


def dispatch_due(now: datetime, late: LateParams | None = None) -> dict[str, int]:
    """The `notify_dispatch` job: every pending notice whose next attempt is due, from the sparse index
    `by_send_due` shard by shard (never a Scan), within the run budget."""
    counts = {"sent": 0, "retrying": 0, "failed": 0, "skipped": 0}
    due = due_keys(due_notices, SEND_SHARDS, clock.stamp(now), RunBudget(RUN_BUDGET_SECONDS))

    def attempt(notice: Notice) -> str | None:
        try:
            return _attempt(notice, now, due=notice.send_due, late=late or {})
        except Exception:  # DynamoDB refused the claim or the outcome: the notice is due again later
            logger.exception("notice attempt not recorded", extra={"notice_id": notice.notice_id})
            return None

    for outcome in in_pool(due, attempt, WORKERS):
        counts[outcome or "skipped"] += 1
    return counts


# --- attempts -------------------------------------------------------------------------------------


def _attempt(notice: Notice, now: datetime, *, due: str | None, late: LateParams) -> str | None:
    """Claim, send and record one attempt: `sent` | `retrying` | `failed`, or None when the notice was
    not ours to attempt (claimed by another worker, sent already, or never committed)."""
    attempts = int(notice.attempts or 0)
    if not _claim(notice, attempts, due, now):
        return None
    attempt = attempts + 1
    try:
        message_id = _send(notice, now, late)
    except Exception as error:  # SES or SNS refused, throttled or unreachable: due again later
        logger.warning(
            "notice not sent",
            extra={"notice_id": notice.notice_id, "attempt": attempt, "error": type(error).__name__},
        )
        return _after_failure(notice, attempt, now)
    sent = [Notice.status.set("sent"), Notice.sent_at.set(clock.stamp(now))]
    _record_sent(notice, attempt, sent + ([Notice.ses_message_id.set(message_id)] if message_id else []))
    if notice.ticket_id and message_id:
        _remember_for_threading(notice, message_id, now)
    sent_to = {"user_id": notice.user_id} if notice.user_id else {}  # the user the notice is about, if any
    logger.info(
        "notice sent", extra={"notice_id": notice.notice_id, "attempt": attempt, "event": "notice_sent", **sent_to}
    )
    return "sent"


def _claim(notice: Notice, attempts: int, due: str | None, now: datetime) -> bool:
    """Count the attempt and lease the notice, if nobody else did since it was read."""
    condition = (Notice.attempts == attempts) & (Notice.status == "pending")  # fails, too, if never committed
    if due is not None:
        condition &= Notice.send_due == due
    try:
        notice.update(
            actions=[
                Notice.attempts.add(1),
                Notice.send_due.set(clock.stamp(now + LEASE)),
                Notice.send_shard.set(send_shard_of(notice.notice_id)),
            ],
            condition=condition,
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _record_sent(notice: Notice, attempt: int, actions: list[Any]) -> None:
    """`_settle` for a message that went out: throttled or conflicting writes are tried again (the
    update is conditional on the attempt, so a repeat is harmless); only an outage longer than the
    tries leaves it `pending`, to be sent a second time once the lease ends."""
    for tries in range(SENT_RECORD_TRIES):
        try:
            _settle(notice, attempt, actions)
            return
        except UpdateError as error:
            if tries == SENT_RECORD_TRIES - 1 or not aws.is_busy(error):
                raise
        time.sleep(random.uniform(0, SENT_RECORD_PAUSE * 2**tries))  # noqa: S311 (jitter, not security)


def _after_failure(notice: Notice, attempt: int, now: datetime) -> str:
    deadline = clock.from_stamp(notice.created_at) + GIVE_UP_AFTER
    next_at = next_attempt_at(now, attempt, RETRY_DELAYS, deadline)
    if next_at is not None:
        _settle(notice, attempt, [Notice.send_due.set(clock.stamp(next_at))], leave_index=False)
        return "retrying"
    if _settle(notice, attempt, [Notice.status.set("failed")]):
        _alert_given_up(notice, attempt)  # once: only the worker whose update moved it to `failed`
    return "failed"


def _settle(notice: Notice, attempt: int, actions: list[Any], *, leave_index: bool = True) -> bool:
    """Record the attempt's outcome, if no later attempt claimed the notice (ours outlived its lease)."""
    if leave_index:
        actions = [*actions, Notice.send_shard.remove(), Notice.send_due.remove()]
    try:
        notice.update(actions=actions, condition=Notice.attempts == attempt)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _send(notice: Notice, now: datetime, late: LateParams) -> str | None:
    """Render and send; SES's MessageId for an email. Raises when SES or SNS did not take it."""
    template, params = notice.template, dict(notice.params or {})
    if notice.ticket_id:  # `email(ticket_id=…)` keeps it on the row (for threading); templates name it too
        params.setdefault("ticket_id", notice.ticket_id)
    if notice.late:
        template, extra = late[notice.late](notice, now)
        params.update(extra)
    if notice.channel == "email":
        return notify.send_email(notice.to, template, notice.locale, reply_to=notice.reply_to, **params) or None
    if not notify.send_sms(notice.to, template, notice.locale, **params):
        logger.warning("sms notice dropped: country no longer enabled", extra={"notice_id": notice.notice_id})
    return None


def _send_unrecorded(notice: Notice, now: datetime, late: LateParams) -> bool:
    try:
        message_id = _send(notice, now, late)
    except Exception:
        logger.exception("unrecorded notice not sent", extra={"template": notice.template})
        return False
    if notice.ticket_id and message_id:
        _remember_for_threading(notice, message_id, now)
    return True


def _remember_for_threading(notice: Notice, message_id: str, now: datetime) -> None:
    """An email ticket's mail: its Message-ID finds the ticket when the requester answers it."""
    header_id = f"<{message_id}@{get_settings().region}.amazonses.com>"
    try:
        remember_outbound(message_id, header_id, notice.ticket_id, now, clock.stamp(now))
    except Exception:  # the reply address and the subject still thread an answer
        logger.exception("outbound message id not kept", extra={"ticket_id": notice.ticket_id})


def _alert_given_up(notice: Notice, attempts: int) -> None:
    to = mask_phone(notice.to) if notice.channel == "sms" else _mask_email(notice.to)
    try:
        notify.alert_operators(
            "Notice not sent for 24 hours",
            f"{notice.notice_id}: {notice.channel} ({notice.template}) to {to}, {attempts} attempts since "
            f"{notice.created_at}; notify_dispatch has stopped retrying it.",
        )
    except Exception:
        logger.exception("notice failure not alerted", extra={"notice_id": notice.notice_id})


def _mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def _notice(channel: str, to: str, template: str, locale: str, now: datetime, **fields: Any) -> Notice:
    notice_id = new_notice_id(now)
    return Notice(
        notice_id,
        channel=channel,
        to=to,
        template=template,
        locale=locale,
        created_at=clock.stamp(now),
        # The request's own attempt comes first; the job takes the notice if that never happens.
        send_shard=send_shard_of(notice_id),
        send_due=clock.stamp(now + LEASE),
        expires_ttl=now + KEPT,
        **fields,
    )
