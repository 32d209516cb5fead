"""Withdrawing from the wallet to the user's own bank card.

A `Withdrawal` runs through the money-out pipeline (chalicelib.services.wallet.money_out): its own checks,
after KYC, are 404 card → 422 card_holder_mismatch (the card's holder name must equal the verified
real name after NFKC, case folding and removing spaces); then funds and the step-up. A withdrawal
to the user's own same-name card does not count towards the KYC limit, but it does count in the
day's step-up budget.

Money first, then the bank: the wallet is debited to bank clearing in ONE TransactWriteItems, and
only then is the payout sent, referenced by the transaction id. Paying out first could send money
that a concurrent payment has just spent. When the bank declines the payout, a second transaction
returns the money from bank clearing to the wallet (a reversal is a new transaction, never an
edit), gives the budget back and reopens the key's record, so the answer `402 card_declined` is
what is stored and replayed.

A bank that is down (refused the payout, nothing paid) is handled the same way, except that the
answer is `503 try_again`, which is never stored: the key is free again and the user's retry with it
debits and pays out afresh (contract v1.2, section 1, Faults). A payout whose answer never came may
have been paid: the withdrawal stands (`201`) and operators are alerted to confirm it with the bank
under its reference (the bank takes at most one payout per reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.adapters import notify
from chalicelib.adapters.bank_gateway import GatewayError, GatewayTimeout, gateway
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import ENTRY_TEXTS, phrase
from chalicelib.services.common.names import same_holder
from chalicelib.services.common.unit_of_work import Work
from chalicelib.services.wallet import ledger, money_out, step_up
from chalicelib.services.wallet.ledger import Leg, Posted, Posting
from chalicelib.services.wallet.money_out import Answer, Debit, Payer
from chalicelib.services.wallet.transaction_view import transaction_item
from chalicelib.store.wallet import FundingSource, TransactionRecord


@dataclass
class Withdrawal(Debit):
    kind = "withdrawal"
    counts_towards_limit = False  # to the user's own same-name card

    locale: str = "en"
    funding_source_id: str = ""
    authorization: Any = None

    @property
    def _card_key(self) -> money_out.ReadKey:
        return (FundingSource, (self.payer_id, self.funding_source_id))

    def reads(self) -> list[money_out.ReadKey]:
        return [self._card_key]

    def checks(self, payer: Payer) -> list[money_out.Check]:
        return [lambda: self._card(payer), lambda: self._same_holder(payer)]

    def authorize(self, payer: Payer, cny: int) -> bool:
        return step_up.check_authorization(
            payer.user, payer.budget_used, self.authorization, cny, payer.now, session_id=self.session_id
        )

    def posting(self, payer: Payer) -> Posting:
        card = self._card(payer)
        text = phrase(ENTRY_TEXTS, "withdrawal", self.locale, bank=card.bank_name, last4=card.last4)
        return Posting(
            type="withdrawal",
            legs=[
                Leg(
                    "user_wallet",
                    self.payer_id,
                    self.currency,
                    -self.amount,
                    counterparty=_counterparty(card),
                    description=text,
                ),
                Leg("system", "bank_clearing", self.currency, self.amount, description="withdrawal"),
            ],
            parties=[self.payer_id],
            details={"funding_source_id": card.funding_source_id},
        )

    def answer(self, payer: Payer, posted: Posted) -> Answer:
        return Answer(201, transaction_item(posted.entry_for(self.payer_id)))

    def after_posting(self, payer: Payer, posted: Posted, cny: int) -> None:
        card = self._card(payer)
        try:
            declined = gateway().payout(card.token, self.amount, self.currency, posted.transaction_id)
        except GatewayTimeout:
            # Maybe paid: never returned on a guess. The money is in bank clearing under this reference.
            unanswered = {"transaction_id": posted.transaction_id, "event": "payout_unknown"}
            logger.warning("withdrawal payout unanswered", extra=unanswered)
            try:
                notify.alert_operators(
                    "Withdrawal payout unanswered",
                    f"{posted.transaction_id}: confirm the payout of {self.amount} {self.currency} with the bank.",
                )
            except Exception:  # the log line above stands for it: the withdrawal itself is done
                logger.exception("payout alert not sent", extra={"transaction_id": posted.transaction_id})
            return
        except GatewayError:  # refused: nothing was paid out
            self._return_to_wallet(card, posted, cny, payer.now, reason="bank_unavailable")
            raise OkpayError("try_again", retry_after=30) from None
        if declined:
            self._return_to_wallet(card, posted, cny, payer.now, reason=declined)
            raise OkpayError(declined)

    def counterparty_for_notice(self, payer: Payer) -> str:
        return self._card(payer).last4

    def _card(self, payer: Payer) -> FundingSource:
        card = payer.extras.get(self._card_key)
        if card is None:
            raise OkpayError("not_found")
        return card

    def _same_holder(self, payer: Payer) -> None:
        if not payer.real_name or not same_holder(self._card(payer).holder_name, payer.real_name):
            raise OkpayError("card_holder_mismatch")

    def _return_to_wallet(
        self, card: FundingSource, withdrawal: Posted, cny: int, now: datetime, *, reason: str
    ) -> None:
        """The bank declined or refused the payout: bank clearing → wallet, the budget given back, the
        key reopened."""
        text = phrase(ENTRY_TEXTS, "withdrawal_returned", self.locale, last4=card.last4)
        reversal = Posting(
            type="withdrawal",
            legs=[
                Leg("system", "bank_clearing", self.currency, -self.amount, description="withdrawal returned"),
                Leg(
                    "user_wallet",
                    self.payer_id,
                    self.currency,
                    self.amount,
                    counterparty=_counterparty(card),
                    description=text,
                ),
            ],
            parties=[self.payer_id],
            details={"reverses": withdrawal.transaction_id, "reason": reason},
        )

        def undo(work: Work, posted: Posted) -> None:
            step_up.give_back_budget(work, self.payer_id, cny, withdrawal.posted_at)
            # Returned in full: nothing of the withdrawal is left to dispute.
            work.update(
                TransactionRecord(withdrawal.transaction_id), actions=[TransactionRecord.refunded.add(self.amount)]
            )
            work.reopen_key()  # the edge then stores the 402 as the key's answer (a 503 lets the key go)

        try:
            ledger.post(reversal, now, extra=undo)
        except Exception:
            # The money sits in bank clearing and the key says 201: an operator must return it.
            logger.exception("declined withdrawal not returned", extra={"transaction_id": withdrawal.transaction_id})
            notify.alert_operators(
                "Declined withdrawal not returned",
                f"{withdrawal.transaction_id}: {self.amount} {self.currency} of {self.payer_id} is in bank "
                "clearing; return it.",
            )
            raise
        logger.warning(
            f"withdrawal returned: payout {reason}",
            extra={
                "user_id": self.payer_id,
                "transaction_id": withdrawal.transaction_id,
                "event": "withdrawal_returned",
            },
        )


def withdraw(withdrawal: Withdrawal, now: datetime) -> dict[str, Any]:
    """Debit the wallet to bank clearing, then pay out to the card; the `{transaction}` (debit)."""
    return money_out.run(withdrawal, now).body


def _counterparty(card: FundingSource) -> dict[str, Any]:
    return {"kind": "funding_source", "id": card.funding_source_id, "name": card.bank_name, "last4": card.last4}
