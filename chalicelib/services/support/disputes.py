"""Disputes (申诉) as the user sees them: file one, read it with its timeline, add a message, withdraw.

A user may dispute their own debit of a payment, transfer or withdrawal within 120 Shanghai days,
for at most the amount not yet refunded, with one open dispute per transaction. The last rule is
a claim `dispute#<txn>` written in the same transaction as the dispute (`attribute_not_exists`),
so two concurrent filings cannot both succeed; the claim goes when the dispute closes.

`respond_by` is 23:59:59 Shanghai time on the 3rd working day after the start day (the business
calendar); the `dispute_sla` job reminds at 80 % of that window and escalates at its end.
Every change is recorded in `audit` (`dispute#<id>`) in the same transaction, and the user is told.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters import business_calendar, clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.common import notice_outbox, rate_limits
from chalicelib.services.common.money import format_amount
from chalicelib.services.common.unit_of_work import unit_of_work
from chalicelib.services.support import case_notices, sla
from chalicelib.services.support.case_threads import instant, message_view, new_message
from chalicelib.services.wallet.ledger import user_account
from chalicelib.store.audit import audit_event
from chalicelib.store.batch import batch_get
from chalicelib.store.disputes import OPEN_STATUSES, UNSETTLED_STATUSES, Dispute, dispute_claim, get_dispute
from chalicelib.store.messages import Message, thread_messages
from chalicelib.store.users import Claim
from chalicelib.store.wallet import TransactionRecord

DISPUTABLE_TYPES = ("payment", "transfer", "withdrawal")
WINDOW_DAYS = 120
FILINGS_PER_DAY = 50  # per user: a stolen card can mean many appeals in a day; more is abuse
MESSAGES_PER_HOUR = 30  # per user, over all their cases


def thread_of(dispute_id: str) -> str:
    return f"dispute#{dispute_id}"


def dispute_view(dispute: Dispute, *, for_agent: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "dispute_id": dispute.dispute_id,
        "transaction_id": dispute.transaction_id,
        "status": dispute.status,
        "reason": dispute.reason,
        "description": dispute.description,
        "amount": int(dispute.amount),
        "currency": dispute.currency,
        "respond_by": instant(dispute.respond_by),
        "resolve_by": instant(dispute.resolve_by),
        "escalated": bool(dispute.escalated),
        "assignee": dispute.assignee,
        "created_at": instant(dispute.created_at),
        "updated_at": instant(dispute.updated_at),
    }
    if dispute.refund_amount is not None:
        view["refund_amount"] = int(dispute.refund_amount)
        view["refund_transaction_id"] = dispute.refund_transaction_id
    if dispute.outcome_note is not None:
        view["resolution_note"] = dispute.outcome_note
    if for_agent:
        if dispute.approval_requested_by is not None:
            view["approval"] = {
                "refund_amount": int(dispute.approval_amount),
                "note": dispute.approval_note,
                "requested_by": dispute.approval_requested_by,
                "requested_at": instant(dispute.approval_requested_at),
                "approved_by": dispute.approved_by,
                "approved_at": instant(dispute.approved_at),
            }
        view["user_id"] = dispute.user_id
        view["transaction_type"] = dispute.transaction_type
        view["agent_replied_at"] = instant(dispute.agent_replied_at)
        view["overdue"] = dispute.status == "open" and dispute.respond_by < clock.stamp(clock.now())
    return view


# --- filing ------------------------------------------------------------------------------------


def file_dispute(
    user_id: str,
    transaction_id: str,
    reason: str,
    description: str,
    amount: int | None,
    now: datetime,
) -> dict[str, Any]:
    """Open a dispute on the caller's own debit; the contract's checks 429 → 404 → 409 → 422."""
    rate_limits.hit(f"disputes#{user_id}", limit=FILINGS_PER_DAY, window=timedelta(days=1), now=now)
    header, claim = _transaction_and_claim(user_id, transaction_id)
    _no_open_dispute_of(user_id, claim)
    debit = _disputable_debit(header, user_id)
    _within_window(header, now)
    refundable = int(debit["amount"]) - int(header.refunded or 0)
    wanted = refundable if amount is None else amount
    if refundable <= 0 or wanted > refundable:
        raise OkpayError(
            "amount_exceeds_refundable",
            field="amount",
            details={"refundable": {"amount": max(refundable, 0), "currency": debit["currency"]}},
        )

    stamp = clock.stamp(now)
    respond_by = business_calendar.respond_by(now)
    dispute = Dispute(
        f"dsp_{uuid.uuid4().hex}",
        status="open",
        user_id=user_id,
        transaction_id=transaction_id,
        transaction_type=header.type,
        reason=reason,
        description=description,
        amount=wanted,
        currency=debit["currency"],
        debited=int(debit["amount"]),
        respond_by=clock.stamp(respond_by),
        sla_due=clock.stamp(sla.reminder_at(now, respond_by)),
        sla_stage="none",
        escalated=False,
        created_at=stamp,
        updated_at=stamp,
    )
    view = dispute_view(dispute)
    filed = case_notices.plan(
        user_id,
        "dispute_filed",
        dispute.dispute_id,
        now,
        transaction_id=transaction_id,
        amount=format_amount(wanted, debit["currency"]),
        when=case_notices.beijing_time(respond_by),
    )
    try:
        with unit_of_work(now) as transaction:
            transaction.save(dispute, condition=Dispute.dispute_id.does_not_exist())
            transaction.save(
                Claim(dispute_claim(transaction_id), user_id=user_id, created_at=stamp, ref=dispute.dispute_id),
                condition=Claim.claim.does_not_exist(),
            )
            transaction.save(
                audit_event(
                    thread_of(dispute.dispute_id),
                    user_id,
                    "filed",
                    stamp,
                    {"transaction_id": transaction_id, "amount": wanted, "currency": debit["currency"]},
                )
            )
            if filed is not None:  # recorded with the dispute: a replayed key sends nothing again
                notice_outbox.record_in(transaction, filed.notices)
            transaction.answer(201, view)
    except TransactWriteError:
        _no_open_dispute_of(user_id, _claim_of(transaction_id))  # lost the race to a concurrent filing
        raise
    logger.info("dispute filed", extra={"user_id": user_id, "dispute_id": dispute.dispute_id, "event": "dispute_filed"})
    case_notices.send_planned(filed, now)
    return view


def _transaction_and_claim(user_id: str, transaction_id: str) -> tuple[TransactionRecord, Claim | None]:
    """The caller's transaction (else 404) and its open-dispute claim, in one read."""
    if not transaction_id.startswith("txn_"):
        raise OkpayError("not_found", field="transaction_id")
    header_key = (TransactionRecord, (transaction_id,))
    claim_key = (Claim, (dispute_claim(transaction_id),))
    found = batch_get([header_key, claim_key])
    header = found[header_key]
    if header is None or user_id not in (header.parties or []):
        raise OkpayError("not_found", field="transaction_id")
    return header, found[claim_key]


def _no_open_dispute_of(user_id: str, claim: Claim | None) -> None:
    """409 when the caller already disputes it. Another party's dispute (a transfer's payer, seen
    by the payee) is not theirs to learn of: they fall through to 422 not_disputable."""
    if claim is not None and claim.user_id == user_id:
        raise OkpayError("dispute_exists", details={"dispute_id": claim.ref})


def _claim_of(transaction_id: str) -> Claim | None:
    try:
        return Claim.get(dispute_claim(transaction_id), consistent_read=True)
    except Claim.DoesNotExist:
        return None


def _disputable_debit(header: TransactionRecord, user_id: str) -> dict[str, Any]:
    """The caller's debit leg of a payment, transfer or withdrawal, else 422 not_disputable."""
    if header.type in DISPUTABLE_TYPES and not (header.details or {}).get("reverses"):
        for leg in header.legs or []:
            if leg["account_id"] == user_account(user_id) and leg["direction"] == "debit":
                return leg
    raise OkpayError("not_disputable", field="transaction_id")


def _within_window(header: TransactionRecord, now: datetime) -> None:
    posted = clock.to_shanghai(clock.from_stamp(header.created_at)).date()
    if (clock.to_shanghai(now).date() - posted).days > WINDOW_DAYS:
        raise OkpayError("dispute_window_closed", field="transaction_id")


# --- the user's side of an open dispute ------------------------------------------------------


def own_dispute(user_id: str, dispute_id: str) -> Dispute:
    dispute = get_dispute(dispute_id) if dispute_id.startswith("dsp_") else None
    if dispute is None or dispute.user_id != user_id:
        raise OkpayError("not_found")
    return dispute


def read_dispute(user_id: str, dispute_id: str) -> dict[str, Any]:
    dispute = own_dispute(user_id, dispute_id)
    view = dispute_view(dispute)
    view["messages"] = [message_view(m) for m in thread_messages(thread_of(dispute_id))]
    return view


def list_disputes(user_id: str, limit: int, start: dict | None) -> tuple[list[dict[str, Any]], dict | None]:
    """One page of the caller's disputes, newest first, and where the next page starts."""
    results = Dispute.by_user.query(user_id, scan_index_forward=False, limit=limit, last_evaluated_key=start)
    items = [dispute_view(dispute) for dispute in results]
    return items, results.last_evaluated_key


def require_open(dispute: Dispute, statuses: tuple[str, ...] = OPEN_STATUSES) -> None:
    """409 dispute_closed unless the dispute is in `statuses` (default: what agents work on; a refund
    awaiting approval is decided, so only the user may still write or withdraw)."""
    if dispute.status not in statuses:
        raise OkpayError("dispute_closed", details={"status": dispute.status})


def add_user_message(user_id: str, dispute_id: str, body: str, now: datetime) -> dict[str, Any]:
    rate_limits.hit(f"case_messages#{user_id}", limit=MESSAGES_PER_HOUR, window=timedelta(hours=1), now=now)
    dispute = own_dispute(user_id, dispute_id)
    require_open(dispute, UNSETTLED_STATUSES)
    message = new_message(thread_of(dispute_id), user_id, "user", body, now)
    view = message_view(message)
    try:
        with unit_of_work(now) as transaction:
            transaction.save(message, condition=Message.message_key.does_not_exist())
            transaction.update(
                Dispute(dispute_id),
                actions=[Dispute.updated_at.set(clock.stamp(now))],
                condition=Dispute.status.is_in(*UNSETTLED_STATUSES),
            )
            transaction.answer(201, view)
    except TransactWriteError:
        require_open(own_dispute(user_id, dispute_id), UNSETTLED_STATUSES)
        raise
    return view


def withdraw(user_id: str, dispute_id: str, now: datetime) -> dict[str, Any]:
    dispute = own_dispute(user_id, dispute_id)
    require_open(dispute, UNSETTLED_STATUSES)  # withdrawing a refund awaiting approval cancels it
    stamp = clock.stamp(now)
    try:
        with unit_of_work(now) as transaction:
            transaction.update(
                Dispute(dispute_id),
                actions=[Dispute.status.set("withdrawn"), Dispute.updated_at.set(stamp), Dispute.sla_due.remove()],
                condition=Dispute.status.is_in(*UNSETTLED_STATUSES),
            )
            transaction.delete(Claim(dispute_claim(dispute.transaction_id)))
            transaction.save(audit_event(thread_of(dispute_id), user_id, "withdrawn", stamp))
    except TransactWriteError:
        require_open(own_dispute(user_id, dispute_id), UNSETTLED_STATUSES)
        raise
    dispute.status, dispute.updated_at, dispute.sla_due = "withdrawn", stamp, None
    case_notices.tell_user(user_id, "dispute_withdrawn", dispute_id)
    return dispute_view(dispute)
