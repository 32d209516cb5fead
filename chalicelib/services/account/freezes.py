"""Freezing an account and lifting the freeze (contract v1.2, sections 9 and 11).

A user who lost a phone, or sees a debit they did not make, stops all money leaving in one step; an
agent can do it for them (and lift it). What a frozen account may not do is one rule that every
area applies (chalicelib.services.identity.protection; the money-out pipeline also checks it inside
its own transaction). Freezing is:

    read the user (404; 409 account_closed; 409 already_frozen) and the wallet's debits of the last
    72 hours (one Query)
    → ONE TransactWriteItems: the user item, conditioned on `status = active` (two freezes racing:
      one wins, the other is 409 already_frozen), its freeze fields, and — unless a session is kept
      (a user freezing from their own device) — the session generation moved on, so every session
      is refused on its next request; the `security` ticket listing those debits (each with its
      transaction_id) with its first message and its `created` event; the account's audit event
      (`user#<id>`) and the security log's `frozen` event
    → after the commit, never failing the request (the freeze stands): a debit that committed
      between the ticket's read and the freeze added to the ticket, the user's outgoing transfers
      waiting for confirmation canceled (while frozen none could complete anyway), the listed
      sessions marked revoked, and a notice to the verified email and the phone, in the user's
      language.

A payment racing the freeze either committed before it (and is on the ticket) or is refused
`403 account_frozen` by the money-out pipeline's ConditionCheck on the user item.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import FREEZE_ACTORS, FREEZE_TICKET, phrase
from chalicelib.services.account.profile import freeze_view
from chalicelib.services.common.money import format_amount
from chalicelib.services.common.unit_of_work import unit_of_work
from chalicelib.services.identity import agents, notices, protection, sessions
from chalicelib.services.support import tickets
from chalicelib.services.support.case_threads import new_message
from chalicelib.services.wallet import history, transfers
from chalicelib.store.audit import audit_event
from chalicelib.store.conditions import condition_failed
from chalicelib.store.security_events import security_event
from chalicelib.store.tickets import Ticket
from chalicelib.store.users import User, get_user

DEBITS_LOOKED_BACK = timedelta(hours=72)
DEBITS_LISTED = 100  # on the ticket; past that it says there are more (the history has them all)
USER_REASONS = ("lost_device", "suspected_fraud", "other")  # a user's own freeze (section 11)
NEEDS_AGENT_REVIEW = "suspected_fraud"  # a user's freeze for this reason is lifted only by an agent


@dataclass(frozen=True)
class Actor:
    """Who freezes or unfreezes: the user themselves, or an agent (`agent_id`)."""

    by: str  # "user" | "agent"
    user_id: str  # the user, or the agent

    @classmethod
    def agent(cls, agent_id: str) -> Actor:
        return cls("agent", agent_id)

    @classmethod
    def owner(cls, user_id: str) -> Actor:
        return cls("user", user_id)


def audit_subject(user_id: str) -> str:
    """The account's partition in `audit`: freezes and unfreezes, who and why."""
    return f"user#{user_id}"


def freeze(
    user_id: str,
    reason: str,
    actor: Actor,
    now: datetime,
    *,
    keep_session: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Freeze the account as described above: `{user_id, status: "frozen", freeze, ticket_id}`.

    `keep_session`: the caller's own session, left signed in (a user freezing from their device;
    every other session is revoked). Without it, every session of the user is revoked in the
    freeze's own write (an agent's freeze, a freeze by code while signed out). `note`: a user's own
    words (section 11), kept on the ticket and the audit event, never logged.
    """
    user = account_of(user_id)
    _refuse_own_account(actor, user_id)
    if user.status == "closed":
        raise OkpayError("account_closed")
    if user.status == protection.FROZEN:
        raise OkpayError("already_frozen")
    stamp = clock.stamp(now)
    ticket = tickets.new_ticket(
        user_id, phrase(FREEZE_TICKET, "subject", user.locale), "security", None, now, source="app"
    )
    body, listed = _ticket_body(user, actor, now)
    if note:
        body += "\n\n" + phrase(FREEZE_TICKET, "note", user.locale, note=note)
    author_role = "agent" if actor.by == "agent" else "user"
    fields = [
        User.status.set(protection.FROZEN),
        User.frozen_at.set(stamp),
        User.freeze_reason.set(reason),
        User.frozen_by.set(actor.by),
        User.frozen_by_agent.set(actor.user_id) if actor.by == "agent" else User.frozen_by_agent.remove(),
    ]
    if keep_session is None:
        fields.append(sessions.revoke_all_action())
    detail = {"reason": reason, "by": actor.by, "ticket_id": ticket.ticket_id}
    if note:
        detail["note"] = note
    try:
        with unit_of_work(now) as work:
            work.update(User(user_id), actions=fields, condition=User.status == "active", label="user")
            work.save(ticket, condition=Ticket.ticket_id.does_not_exist())
            work.save(new_message(tickets.thread_of(ticket.ticket_id), actor.user_id, author_role, body, now))
            work.save(
                audit_event(
                    tickets.thread_of(ticket.ticket_id), actor.user_id, "created", stamp, {"category": "security"}
                )
            )
            work.save(audit_event(audit_subject(user_id), actor.user_id, "frozen", stamp, detail))
            work.save(security_event(user_id, "frozen", stamp, detail=_log_detail(actor, reason)))
    except TransactWriteError as error:
        if not condition_failed(error):
            raise
        _refuse_as_it_now_is(user_id, want="active")
        raise
    logger.info(
        "account frozen",
        extra={"event": "account_frozen", "user_id": user_id, "by": actor.by, "ticket_id": ticket.ticket_id},
    )
    _after_freeze(user, actor, ticket.ticket_id, listed, now, keep_session=keep_session)
    user.status, user.frozen_at, user.freeze_reason, user.frozen_by = protection.FROZEN, stamp, reason, actor.by
    return {"user_id": user_id, "status": "frozen", **freeze_view(user), "ticket_id": ticket.ticket_id}


def unfreeze(
    user_id: str,
    reason: str,
    actor: Actor,
    now: datetime,
    *,
    rules: Callable[[User], None] | None = None,
) -> dict[str, Any]:
    """Lift the freeze: `{user_id, status: "active"}`; `409 not_frozen` otherwise.

    `rules`: what a user's own unfreeze must also pass (section 11), checked on the freeze as read.
    The write is then conditioned on that same freeze (its `frozen_at`), so an agent's freeze that
    replaced it meanwhile is never lifted by them: the rules are checked again on the freeze now in
    force, and refuse (`403 agent_review_required`, `409 freeze_too_recent`).
    """
    user = account_of(user_id)
    _refuse_own_account(actor, user_id)
    if user.status != protection.FROZEN:
        raise OkpayError("not_frozen")
    if rules is not None:
        rules(user)
    condition = User.status == protection.FROZEN
    if rules is not None:
        condition &= User.frozen_at == user.frozen_at
    stamp = clock.stamp(now)
    was = {"reason": user.freeze_reason, "by": user.frozen_by, "at": user.frozen_at}
    try:
        with unit_of_work(now) as work:
            work.update(
                User(user_id),
                actions=[
                    User.status.set("active"),
                    User.frozen_at.remove(),
                    User.freeze_reason.remove(),
                    User.frozen_by.remove(),
                    User.frozen_by_agent.remove(),
                ],
                condition=condition,
                label="user",
            )
            detail = {"reason": reason, "by": actor.by, "freeze": was}
            work.save(audit_event(audit_subject(user_id), actor.user_id, "unfrozen", stamp, detail))
            work.save(security_event(user_id, "unfrozen", stamp, detail=_log_detail(actor, None)))
    except TransactWriteError as error:
        if not condition_failed(error):
            raise
        _refuse_as_it_now_is(user_id, want=protection.FROZEN, rules=rules)
        raise
    logger.info("account unfrozen", extra={"event": "account_unfrozen", "user_id": user_id, "by": actor.by})
    by = phrase(FREEZE_ACTORS, actor.by, user.locale)
    notices.notify_security_event(user, "account_unfrozen", now, by=by)
    return {"user_id": user_id, "status": "active"}


def account_of(user_id: str) -> User:
    """The account to freeze or unfreeze, whatever its state; `404 not_found` when there is none."""
    user = get_user(user_id) if user_id.startswith("usr_") else None
    if user is None:
        raise OkpayError("not_found")
    return user


# --- internals ------------------------------------------------------------------------------------


def _refuse_own_account(actor: Actor, user_id: str) -> None:
    """An agent never acts on their own account (403 own_case): after the 404, before the state's 409."""
    if actor.by == "agent":
        agents.refuse_own_case(actor.user_id, user_id)


def _refuse_as_it_now_is(user_id: str, *, want: str, rules: Callable[[User], None] | None = None) -> None:
    """The user item's condition failed: the refusal its state now calls for (a concurrent freeze,
    unfreeze or closing won; or, with `rules`, another freeze replaced the one they passed on)."""
    user = get_user(user_id)
    if user is None:
        raise OkpayError("not_found")
    if user.status == "closed":
        raise OkpayError("account_closed")
    if want == "active" and user.status == protection.FROZEN:
        raise OkpayError("already_frozen")
    if want == protection.FROZEN and user.status != protection.FROZEN:
        raise OkpayError("not_frozen")
    if rules is not None:
        rules(user)
    raise OkpayError("try_again", retry_after=1)  # it changed back meanwhile: the caller may repeat


def _ticket_body(user: User, actor: Actor, now: datetime) -> tuple[str, set[str]]:
    """The ticket's first message: the debits of the 72 hours before the freeze, each with its
    transaction id (so the user can dispute it), in the user's language; and the ids listed."""
    locale = user.locale
    debits = history.debits_since(user.user_id, now - DEBITS_LOOKED_BACK, limit=DEBITS_LISTED + 1)
    when = _beijing(now)
    lines = [phrase(FREEZE_TICKET, "intro", locale, when=when, by=phrase(FREEZE_ACTORS, actor.by, locale))]
    lines += [_debit_line(item, locale) for item in debits[:DEBITS_LISTED]]
    if not debits:
        lines.append(phrase(FREEZE_TICKET, "none", locale))
    elif len(debits) > DEBITS_LISTED:
        lines.append(phrase(FREEZE_TICKET, "more", locale))
    return "\n".join(lines), {item["transaction_id"] for item in debits}


def _add_late_debits(user: User, actor: Actor, ticket_id: str, listed: set[str], now: datetime) -> None:
    """A debit that committed between the ticket's read and the freeze is added to the ticket: once
    the freeze has committed no other can (the pipeline's ConditionCheck), so the ticket is complete."""
    debits = history.debits_since(user.user_id, now - DEBITS_LOOKED_BACK, limit=DEBITS_LISTED)
    late = [item for item in debits if item["transaction_id"] not in listed]
    if not late or len(listed) > DEBITS_LISTED:
        return
    body = "\n".join(_debit_line(item, user.locale) for item in late)
    author_role = "agent" if actor.by == "agent" else "user"
    new_message(tickets.thread_of(ticket_id), actor.user_id, author_role, body, now).save()


def _debit_line(item: dict[str, Any], locale: str) -> str:
    return phrase(
        FREEZE_TICKET,
        "line",
        locale,
        when=_beijing(clock.parse_instant(item["created_at"])),
        amount=format_amount(item["amount"], item["currency"]),
        description=item["description"] or item["type"],
        transaction_id=item["transaction_id"],
    )


def _beijing(moment: datetime) -> str:
    return clock.to_shanghai(moment).strftime("%Y-%m-%d %H:%M")


def _log_detail(actor: Actor, reason: str | None) -> str:
    """What the user's security log says: who, and a user's own reason (an agent's text stays internal)."""
    if actor.by == "agent" or reason is None:
        return actor.by
    return f"{actor.by}: {reason}"


def _after_freeze(
    user: User, actor: Actor, ticket_id: str, listed: set[str], now: datetime, *, keep_session: str | None
) -> None:
    """The freeze has committed: what follows it never fails the request (the account is frozen)."""
    try:
        _add_late_debits(user, actor, ticket_id, listed, now)
    except Exception:
        logger.exception("late debits not added to the freeze's ticket", extra={"ticket_id": ticket_id})
    try:
        transfers.cancel_pending(user.user_id, now, outgoing_only=True)
    except Exception:  # none can complete while frozen; they expire within 5 minutes
        logger.exception("pending transfers not canceled on freeze", extra={"user_id": user.user_id})
    try:
        if keep_session is None:
            sessions.mark_revoked(user.user_id, reason="frozen")
        else:
            sessions.revoke_all(user.user_id, except_session=keep_session, reason="frozen")
    except Exception:
        logger.exception("sessions not revoked on freeze", extra={"user_id": user.user_id})
    by = phrase(FREEZE_ACTORS, actor.by, user.locale)
    notices.notify_security_event(user, "account_frozen", now, by=by, ticket_id=ticket_id)
