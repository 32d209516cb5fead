"""Withdrawing from the wallet to the user's own bank card.

Check order (contract, section 5): 403 kyc_required → 404 card → 422 card_holder_mismatch (the
card's holder name must equal the verified real name after NFKC, case folding and removing
spaces) → 422 insufficient_funds → step-up. A withdrawal to the user's own same-name card does not
count towards the KYC limit, but it does count in the day's step-up budget.

Money first, then the bank: the wallet is debited to bank clearing in ONE TransactWriteItems
(balance, entries, header, the day's budget, the idempotency record), and only then is the payout
sent, referenced by the transaction id. Paying out first could send money that a concurrent
payment has just spent. When the bank declines the payout, a second transaction returns the money
from bank clearing to the wallet (a reversal is a new transaction, never an edit), gives the
budget back and reopens the key's record, so the answer `402 card_declined` is what is stored and
replayed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters import notify
from chalicelib.adapters.bank_gateway import gateway
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import ENTRY_TEXTS, phrase
from chalicelib.services import debits, idempotency, ledger, money_out, step_up
from chalicelib.services.ledger import Leg, Posting
from chalicelib.services.names import same_holder
from chalicelib.services.transaction_view import transaction_item
from chalicelib.store.counters import Counter
from chalicelib.store.wallet import FundingSource, IdempotencyRecord, TransactionRecord


def withdraw(
    user_id: str,
    locale: str,
    funding_source_id: str,
    amount: int,
    currency: str,
    authorization: Any,
    slot: Any,
    now: datetime,
    *,
    session_id: str,
) -> dict[str, Any]:
    """Debit the wallet to bank clearing, then pay out to the card; the `{transaction}` (debit)."""
    card_key = (FundingSource, (user_id, funding_source_id))

    def load() -> money_out.Payer:
        return money_out.load_payer(user_id, currency, now, extra=[card_key])

    payer = load()
    money_out.require_kyc(payer)
    card = payer.extras.get(card_key)
    if card is None:
        raise OkpayError("not_found")
    if not payer.real_name or not same_holder(card.holder_name, payer.real_name):
        raise OkpayError("card_holder_mismatch")
    money_out.require_funds(payer, amount)
    cny = money_out.cny_equivalent(amount, currency, payer.rates)
    stepped_up = step_up.check_authorization(payer, authorization, cny, now, session_id=session_id)

    counterparty = {"kind": "funding_source", "id": card.funding_source_id, "name": card.bank_name, "last4": card.last4}
    text = phrase(ENTRY_TEXTS, "withdrawal", locale, bank=card.bank_name, last4=card.last4)
    posting = Posting(
        type="withdrawal",
        legs=[
            Leg("user_wallet", user_id, currency, -amount, counterparty=counterparty, description=text),
            Leg("system", "bank_clearing", currency, amount, description="withdrawal"),
        ],
        parties=[user_id],
        details={"funding_source_id": card.funding_source_id},
    )
    reply: dict[str, Any] = {}

    def finish(transaction: Any, posted: ledger.Posted) -> None:
        reply.clear()
        reply.update(transaction_item(posted.entry_for(user_id)))
        money_out.count_in(transaction, payer, cny, counts_towards_limit=False, cap_budget=not stepped_up)
        if slot is not None:
            idempotency.finish_in(transaction, slot, 201, dict(reply), now)

    def recheck() -> OkpayError | None:
        fresh = load()
        budget = [] if stepped_up else [lambda: step_up.require_within_budget(fresh, cny)]
        return debits.first_problem(lambda: money_out.require_funds(fresh, amount), *budget)

    balances = {(user_id, currency): payer.balance} if payer.balance else {}
    debits.post(posting, now, balances=balances, slot=slot, extra=finish, recheck=recheck)

    declined = gateway().payout(card.token, amount, currency, posting.transaction_id)
    if declined:
        _return_to_wallet(payer, posting, counterparty, locale, cny, slot, now)
        raise OkpayError(declined)
    logger.info("withdrawal completed", extra={"user_id": user_id, "event": "withdrawal"})
    debits.notify_if_large(payer.user, "withdrawal", amount, currency, cny, card.last4, now)
    return reply


def _return_to_wallet(
    payer: money_out.Payer,
    withdrawal: Posting,
    counterparty: dict[str, Any],
    locale: str,
    cny: int,
    slot: Any,
    now: datetime,
) -> None:
    """The bank declined the payout: bank clearing → wallet, the budget given back, the key reopened."""
    user_id = payer.user.user_id
    debit = withdrawal.legs[0]
    amount, currency = -debit.amount, debit.currency
    text = phrase(ENTRY_TEXTS, "withdrawal_returned", locale, last4=counterparty["last4"])
    reversal = Posting(
        type="withdrawal",
        legs=[
            Leg("system", "bank_clearing", currency, -amount, description="withdrawal returned"),
            Leg("user_wallet", user_id, currency, amount, counterparty=counterparty, description=text),
        ],
        parties=[user_id],
        details={"reverses": withdrawal.transaction_id, "reason": "card_declined"},
    )

    def undo(transaction: Any, posted: ledger.Posted) -> None:
        transaction.update(Counter(money_out.budget_counter_id(user_id, payer.now)), actions=[Counter.count.add(-cny)])
        # Returned in full: nothing of the withdrawal is left to dispute.
        transaction.update(
            TransactionRecord(withdrawal.transaction_id), actions=[TransactionRecord.refunded.add(amount)]
        )
        if slot is not None:
            # Back to in flight, still ours: the edge then stores the 402 as the key's answer.
            transaction.update(
                IdempotencyRecord(slot.record_id),
                actions=[
                    IdempotencyRecord.state.set("in_flight"),
                    IdempotencyRecord.status.remove(),
                    IdempotencyRecord.body.remove(),
                ],
                condition=IdempotencyRecord.attempt == slot.attempt,
            )

    try:
        ledger.post(reversal, now, extra=undo)
    except Exception:
        # The money sits in bank clearing and the key says 201: an operator must return it.
        logger.exception("declined withdrawal not returned", extra={"transaction_id": withdrawal.transaction_id})
        notify.alert_operators(
            "Declined withdrawal not returned",
            f"{withdrawal.transaction_id}: {amount} {currency} of {user_id} is in bank clearing; return it.",
        )
        raise
    if slot is not None:
        slot.finished = False
    logger.warning(
        "withdrawal returned: payout declined",
        extra={"user_id": user_id, "transaction_id": withdrawal.transaction_id, "event": "withdrawal_returned"},
    )
