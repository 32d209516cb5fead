"""Disputes as support agents work them: the queue, assign, reply, extend and resolve.

Resolving as `refunded` is one ledger transaction of type `refund`: the user's wallet is credited
in the dispute's currency from the `dispute_writeoff` system account, and in the same
TransactWriteItems the dispute moves to `refunded` on the condition that it is still open or
under review, the original transaction's `refunded` grows on the condition that it stays within
the debit, the claim on the transaction is released and the audit event and the Idempotency-Key's
answer are written. When the transaction paid a checkout order, the order's refunds grow in the same
transaction (the cap merchant refunds share) with a `refund.succeeded` event for the merchant
(chalicelib/services/wallet/refunds.py). A second resolve, even a concurrent one, fails that condition and answers
`409 dispute_closed`, so the refund is applied exactly once.

Four eyes (contract v1.2, section 9): a refund above 5,000 CNY equivalent (the refund amount at the
current rates, rounded up, as the KYC limits count) moves no money when it is asked for: the
dispute goes to `awaiting_approval` (202) with the amount and note kept, and the refund is posted,
by the same ledger transaction with the condition that the dispute is still `awaiting_approval`,
only when a second agent approves it. The agent who asked, and the dispute's own user, cannot.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters import clock
from chalicelib.adapters.config import get_settings
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import ENTRY_TEXTS, phrase
from chalicelib.services.common.money import format_amount
from chalicelib.services.common.unit_of_work import Work, unit_of_work
from chalicelib.services.identity.agents import refuse_own_case
from chalicelib.services.support import case_notices
from chalicelib.services.support.case_threads import events_view, message_view, new_message
from chalicelib.services.support.disputes import dispute_view, require_open, thread_of
from chalicelib.services.support.queue_pages import merge_page, pending_statuses
from chalicelib.services.wallet import ledger, order_events, refunds, webhooks
from chalicelib.services.wallet.catalog import current_rates
from chalicelib.services.wallet.ledger import Leg, Posting, user_account
from chalicelib.services.wallet.money_out import cny_equivalent
from chalicelib.store.audit import audit_event
from chalicelib.store.disputes import AWAITING_APPROVAL, OPEN_STATUSES, Dispute, dispute_claim, get_dispute
from chalicelib.store.messages import thread_messages
from chalicelib.store.users import Claim, get_user
from chalicelib.store.wallet import TransactionRecord

MAX_EXTENSION = timedelta(days=90)  # Regulation E's longest investigation, counted from filing
APPROVAL_ABOVE_CNY = 5_000_00  # a refund above this (CNY minor units, equivalent) needs a second agent


def agent_dispute(dispute_id: str) -> Dispute:
    dispute = get_dispute(dispute_id) if dispute_id.startswith("dsp_") else None
    if dispute is None:
        raise OkpayError("not_found")
    return dispute


def dispute_to_work(actor_id: str, dispute_id: str) -> Dispute:
    """The dispute an agent is about to act on: 404 when there is none, then 403 own_case when it is
    the agent's own (before 409 dispute_closed: who may act does not depend on the state)."""
    dispute = agent_dispute(dispute_id)
    refuse_own_case(actor_id, dispute.user_id)
    return dispute


def read_for_agent(dispute_id: str) -> dict[str, Any]:
    """The whole case: the dispute, its timeline and every recorded transition."""
    dispute = agent_dispute(dispute_id)
    view = dispute_view(dispute, for_agent=True)
    messages = thread_messages(thread_of(dispute_id))
    view["messages"] = [message_view(m, for_agent=True) for m in messages]
    view["events"] = events_view(thread_of(dispute_id))
    return view


# --- the queue -----------------------------------------------------------------------------------


def queue_page(
    statuses: list[str],
    *,
    before: datetime | None,
    assignee: str | None,
    limit: int,
    position: dict[str, Any] | None,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Oldest `respond_by` first over `statuses` (one Query each on GSI by_respond_by, merged).

    `before`: only `respond_by` earlier than it (overdue). `position` maps each status to the key
    its next Query starts after (absent: from the start; None: that status is exhausted).
    """
    position = dict(position or {})
    streams: dict[str, list[Dispute]] = {}
    for status in pending_statuses(statuses, position):
        condition = Dispute.respond_by < clock.stamp(before) if before is not None else None
        results = Dispute.by_respond_by.query(
            status,
            range_key_condition=condition,
            filter_condition=(Dispute.assignee == assignee) if assignee else None,
            limit=limit + 1,
            page_size=max(limit + 1, 25),
            last_evaluated_key=position.get(status),
        )
        streams[status] = list(results)
    page, following = merge_page(
        streams, limit=limit, due=lambda d: d.respond_by, index_key=_index_key, position=position
    )
    return [dispute_view(d, for_agent=True) for d in page], following


def _index_key(dispute: Dispute) -> dict[str, Any]:
    return {
        "dispute_id": {"S": dispute.dispute_id},
        "status": {"S": dispute.status},
        "respond_by": {"S": dispute.respond_by},
    }


# --- agent actions -------------------------------------------------------------------------------


def assign(actor_id: str, dispute_id: str, agent_id: str | None, now: datetime) -> dict[str, Any]:
    dispute = dispute_to_work(actor_id, dispute_id)
    target = agent_id or actor_id
    agent = get_user(target) if target.startswith("usr_") else None
    if agent is None or agent.role != "agent" or agent.status != "active":
        raise OkpayError("not_found", field="agent_id")
    refuse_own_case(target, dispute.user_id)  # nor is it handed to the agent whose account it is about
    require_open(dispute)
    stamp = clock.stamp(now)
    _update_open(
        dispute,
        [Dispute.assignee.set(target), Dispute.updated_at.set(stamp)],
        audit_event(thread_of(dispute_id), actor_id, "assigned", stamp, {"assignee": target}),
    )
    dispute.assignee, dispute.updated_at = target, stamp
    return dispute_view(dispute, for_agent=True)


def reply(actor_id: str, dispute_id: str, body: str, now: datetime) -> dict[str, Any]:
    """An agent's message; the first one moves `open → under_review` and stops the SLA clock."""
    dispute = dispute_to_work(actor_id, dispute_id)
    require_open(dispute)
    stamp = clock.stamp(now)
    message = new_message(thread_of(dispute_id), actor_id, "agent", body, now)
    view = message_view(message)
    first = dispute.agent_replied_at is None
    actions = [Dispute.updated_at.set(stamp)]
    condition = Dispute.status.is_in(*OPEN_STATUSES)
    if first:
        actions += [Dispute.status.set("under_review"), Dispute.agent_replied_at.set(stamp), Dispute.sla_due.remove()]
        condition = (Dispute.status == "open") & Dispute.agent_replied_at.does_not_exist()
    if dispute.assignee is None:
        actions.append(Dispute.assignee.set(actor_id))
    try:
        with unit_of_work(now) as transaction:
            transaction.save(message)
            transaction.update(Dispute(dispute_id), actions=actions, condition=condition)
            if first:
                transaction.save(audit_event(thread_of(dispute_id), actor_id, "under_review", stamp))
            transaction.answer(201, view)
    except TransactWriteError:
        fresh = agent_dispute(dispute_id)
        require_open(fresh)
        if first and fresh.agent_replied_at is not None:
            return reply(actor_id, dispute_id, body, now)  # another agent answered first
        raise
    case_notices.tell_user(dispute.user_id, "dispute_reply", dispute_id, body=body)
    return view


def extend(actor_id: str, dispute_id: str, reason: str, resolve_by: datetime, now: datetime) -> dict[str, Any]:
    """Promise a resolution date further out; the user is told why."""
    if resolve_by <= now:  # malformed whatever the case: 400 before 404 and 409 (contract check order)
        raise OkpayError("validation_error", field="resolve_by", reason="not_later")
    dispute = dispute_to_work(actor_id, dispute_id)
    require_open(dispute)
    created = clock.from_stamp(dispute.created_at)
    earliest = max(now, clock.from_stamp(dispute.resolve_by)) if dispute.resolve_by else now
    if resolve_by <= earliest:
        raise OkpayError("validation_error", field="resolve_by", reason="not_later")
    if resolve_by > created + MAX_EXTENSION:
        raise OkpayError("validation_error", field="resolve_by", reason="too_far")
    stamp, until = clock.stamp(now), clock.stamp(resolve_by)
    _update_open(
        dispute,
        [Dispute.resolve_by.set(until), Dispute.extension_reason.set(reason), Dispute.updated_at.set(stamp)],
        audit_event(thread_of(dispute_id), actor_id, "extended", stamp, {"resolve_by": until, "reason": reason}),
    )
    dispute.resolve_by, dispute.extension_reason, dispute.updated_at = until, reason, stamp
    case_notices.tell_user(
        dispute.user_id, "dispute_extended", dispute_id, when=case_notices.beijing_time(resolve_by), reason=reason
    )
    return dispute_view(dispute, for_agent=True)


def _update_open(dispute: Dispute, actions: list[Any], event: Any) -> None:
    try:
        with unit_of_work() as transaction:
            transaction.update(
                Dispute(dispute.dispute_id), actions=actions, condition=Dispute.status.is_in(*OPEN_STATUSES)
            )
            transaction.save(event)
    except TransactWriteError:
        require_open(agent_dispute(dispute.dispute_id))
        raise


# --- resolution ----------------------------------------------------------------------------------


def resolve(
    actor_id: str,
    dispute_id: str,
    outcome: str,
    refund_amount: int | None,
    note: str,
    now: datetime,
) -> dict[str, Any]:
    dispute = dispute_to_work(actor_id, dispute_id)  # a refund to the agent's own wallet is refused here
    require_open(dispute)
    if outcome == "refunded":
        amount = int(dispute.amount) if refund_amount is None else refund_amount
        if amount > int(dispute.amount):
            raise OkpayError(
                "amount_exceeds_refundable",
                field="refund_amount",
                details={"refundable": {"amount": int(dispute.amount), "currency": dispute.currency}},
            )
        if needs_approval(amount, dispute.currency):
            view = _ask_approval(actor_id, dispute, amount, note, now)
            logger.info(
                "dispute refund awaiting approval",
                extra={"dispute_id": dispute_id, "event": "dispute_refund_requested", "agent_id": actor_id},
            )
            return view
        view = _refund(actor_id, dispute, amount, note, now)
        _tell_refunded(dispute, amount, note)
    else:
        view = _reject(actor_id, dispute, note, now)
        case_notices.tell_user(
            dispute.user_id, "dispute_rejected", dispute_id, note=note, support=get_settings().support_phone
        )
    logger.info("dispute resolved", extra={"dispute_id": dispute_id, "outcome": outcome, "event": "dispute_resolved"})
    return view


def needs_approval(amount: int, currency: str) -> bool:
    """Whether a refund of `amount` is above the four-eyes threshold, in CNY at the current rates."""
    if currency == "CNY":
        return amount > APPROVAL_ABOVE_CNY
    rates = current_rates()
    if rates is None:  # no rates published: cannot tell, so do not move money yet
        raise OkpayError("try_again", retry_after=60)
    return cny_equivalent(amount, currency, rates.rates) > APPROVAL_ABOVE_CNY


def _tell_refunded(dispute: Dispute, amount: int, note: str) -> None:
    case_notices.tell_user(
        dispute.user_id,
        "dispute_refunded",
        dispute.dispute_id,
        amount=format_amount(amount, dispute.currency),
        note=note,
    )


def _ask_approval(actor_id: str, dispute: Dispute, amount: int, note: str, now: datetime) -> dict[str, Any]:
    """Keep the refund for a second agent: `awaiting_approval`, no money moved, the SLA clock stopped
    (an agent has decided). The 202 is stored under the Idempotency-Key with the change."""
    stamp = clock.stamp(now)
    dispute.status, dispute.updated_at, dispute.sla_due = AWAITING_APPROVAL, stamp, None
    dispute.approval_amount, dispute.approval_note = amount, note
    dispute.approval_requested_by, dispute.approval_requested_at = actor_id, stamp
    view = dispute_view(dispute, for_agent=True)
    try:
        with unit_of_work(now) as transaction:
            transaction.update(
                Dispute(dispute.dispute_id),
                actions=[
                    Dispute.status.set(AWAITING_APPROVAL),
                    Dispute.approval_amount.set(amount),
                    Dispute.approval_note.set(note),
                    Dispute.approval_requested_by.set(actor_id),
                    Dispute.approval_requested_at.set(stamp),
                    Dispute.updated_at.set(stamp),
                    Dispute.sla_due.remove(),
                ],
                condition=Dispute.status.is_in(*OPEN_STATUSES),
            )
            transaction.save(
                audit_event(
                    thread_of(dispute.dispute_id),
                    actor_id,
                    "approval_requested",
                    stamp,
                    {"amount": amount, "currency": dispute.currency, "note": note},
                )
            )
            transaction.answer(202, view)
    except TransactWriteError:
        require_open(agent_dispute(dispute.dispute_id))
        raise
    return view


def approve(actor_id: str, dispute_id: str, now: datetime) -> dict[str, Any]:
    """A second agent approves a refund awaiting approval: it is posted exactly once.

    Checks: 404 → 403 own_case (the dispute's own user, or the agent who asked for the refund) →
    409 dispute_not_awaiting_approval (never asked, already approved, withdrawn meanwhile)."""
    dispute = dispute_to_work(actor_id, dispute_id)
    if dispute.approval_requested_by == actor_id:
        raise OkpayError("own_case")
    if dispute.status != AWAITING_APPROVAL:
        raise OkpayError("dispute_not_awaiting_approval", details={"status": dispute.status})
    amount, note = int(dispute.approval_amount), dispute.approval_note or ""
    requested_by = dispute.approval_requested_by or ""
    view = _refund(requested_by, dispute, amount, note, now, approver=actor_id)
    _tell_refunded(dispute, amount, note)
    logger.info(
        "dispute refund approved",
        extra={"dispute_id": dispute_id, "event": "dispute_refund_approved", "agent_id": actor_id},
    )
    return view


def _closing_actions(outcome: str, actor_id: str, note: str, stamp: str) -> list[Any]:
    return [
        Dispute.status.set(outcome),
        Dispute.outcome_note.set(note),
        Dispute.resolved_by.set(actor_id),
        Dispute.resolved_at.set(stamp),
        Dispute.updated_at.set(stamp),
        Dispute.sla_due.remove(),
    ]


def _closed_view(dispute: Dispute, outcome: str, actor_id: str, note: str, stamp: str) -> dict[str, Any]:
    dispute.status, dispute.outcome_note, dispute.resolved_by = outcome, note, actor_id
    dispute.resolved_at = dispute.updated_at = stamp
    dispute.sla_due = None
    return dispute_view(dispute, for_agent=True)


def _reject(actor_id: str, dispute: Dispute, note: str, now: datetime) -> dict[str, Any]:
    stamp = clock.stamp(now)
    view = _closed_view(dispute, "rejected", actor_id, note, stamp)
    try:
        with unit_of_work(now) as transaction:
            transaction.update(
                Dispute(dispute.dispute_id),
                actions=_closing_actions("rejected", actor_id, note, stamp),
                condition=Dispute.status.is_in(*OPEN_STATUSES),
            )
            transaction.delete(Claim(dispute_claim(dispute.transaction_id)))
            transaction.save(audit_event(thread_of(dispute.dispute_id), actor_id, "rejected", stamp, {"note": note}))
            transaction.answer(200, view)
    except TransactWriteError:
        require_open(agent_dispute(dispute.dispute_id))
        raise
    return view


def _refund(
    actor_id: str, dispute: Dispute, amount: int, note: str, now: datetime, *, approver: str | None = None
) -> dict[str, Any]:
    """Post the refund and close the dispute as `refunded`, in one transaction. `actor_id` decided it;
    with `approver`, it was awaiting that second agent's approval and must still be."""
    user = get_user(dispute.user_id)
    locale = (user.locale if user else None) or "en"
    text = phrase(ENTRY_TEXTS, "dispute_refund", locale, dispute_id=dispute.dispute_id)
    posting = Posting(
        type="refund",
        legs=[
            Leg("user_wallet", dispute.user_id, dispute.currency, amount, description=text),
            Leg("system", "dispute_writeoff", dispute.currency, -amount, description=f"refund {dispute.dispute_id}"),
        ],
        parties=[dispute.user_id],
        details={"dispute_id": dispute.dispute_id, "original_transaction_id": dispute.transaction_id},
    )
    stamp = clock.stamp(now)
    debit = int(dispute.debited)
    from_statuses = (AWAITING_APPROVAL,) if approver else OPEN_STATUSES
    approval = [Dispute.approved_by.set(approver), Dispute.approved_at.set(stamp)] if approver else []
    refunded_detail: dict[str, Any] = {"amount": amount, "currency": dispute.currency, "note": note}
    # A checkout order's payment: the order's refunds grow in this transaction too (the merchant's cap).
    order_id = refunds.order_of_payment(dispute.transaction_id)
    if approver:
        refunded_detail["requested_by"] = actor_id

    def closed_view(posted: ledger.Posted) -> dict[str, Any]:
        dispute.refund_amount, dispute.refund_transaction_id = amount, posted.transaction_id
        if approver:
            dispute.approved_by, dispute.approved_at = approver, stamp
        return _closed_view(dispute, "refunded", actor_id, note, stamp)

    def finish(transaction: Work, posted: ledger.Posted) -> None:
        transaction.update(
            Dispute(dispute.dispute_id),
            actions=[
                *_closing_actions("refunded", actor_id, note, stamp),
                Dispute.refund_amount.set(amount),
                Dispute.refund_transaction_id.set(posted.transaction_id),
                *approval,
            ],
            condition=Dispute.status.is_in(*from_statuses),
        )
        transaction.update(
            TransactionRecord(dispute.transaction_id),
            actions=[TransactionRecord.refunded.add(amount)],
            condition=TransactionRecord.refunded.does_not_exist() | (TransactionRecord.refunded <= debit - amount),
        )
        if order_id:
            refunds.apply_dispute_refund(transaction, order_id, amount, dispute.dispute_id, posted)
        transaction.delete(Claim(dispute_claim(dispute.transaction_id)))
        transaction.save(
            audit_event(
                thread_of(dispute.dispute_id),
                approver or actor_id,
                "refunded",
                stamp,
                {**refunded_detail, "transaction_id": posted.transaction_id},
            )
        )
        transaction.answer(200, closed_view(posted))

    def recheck() -> None:
        fresh = agent_dispute(dispute.dispute_id)
        if fresh.status not in from_statuses:
            code = "dispute_not_awaiting_approval" if approver else "dispute_closed"
            raise OkpayError(code, details={"status": fresh.status})
        # The original's refunds moved by other means (a returned withdrawal): say so, not 503.
        refunded = int(TransactionRecord.get(dispute.transaction_id, consistent_read=True).refunded or 0)
        if refunded + amount > debit:
            left = {"amount": max(debit - refunded, 0), "currency": dispute.currency}
            raise OkpayError("amount_exceeds_refundable", field="refund_amount", details={"refundable": left})

    with order_events.collecting() as new_events:
        posted = ledger.post(posting, now, extra=finish, on_conflict=recheck)
    webhooks.deliver_after_commit(new_events, now)
    view = closed_view(posted)
    logger.info(
        "dispute refunded",
        extra={"dispute_id": dispute.dispute_id, "user_id": dispute.user_id, "account": user_account(dispute.user_id)},
    )
    return view
