"""Paying a merchant or biller from the wallet.

A `Payment` runs through the money-out pipeline (chalicelib.services.wallet.money_out): its own checks,
after KYC, are 404 merchant → 409 already_paid → 422 currency_not_accepted; then funds, the KYC
limit and the step-up. Its transaction adds the payer's and the merchant's (sharded) entries, the
header and the order claim `order#<payer>#<merchant>#<ref>` (absent: one payment per order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import ENTRY_TEXTS, phrase
from chalicelib.services.common.unit_of_work import Work
from chalicelib.services.wallet import money_out, step_up
from chalicelib.services.wallet.catalog import merchant_name
from chalicelib.services.wallet.ledger import Leg, Posted, Posting
from chalicelib.services.wallet.money_out import Answer, Debit, Payer
from chalicelib.services.wallet.transaction_view import transaction_item
from chalicelib.store.catalog import MERCHANT, CatalogItem
from chalicelib.store.users import Claim


def order_claim(payer_id: str, merchant_id: str, order_reference: str) -> str:
    return f"order#{payer_id}#{merchant_id}#{order_reference}"


@dataclass
class Payment(Debit):
    kind = "payment"

    locale: str = "en"
    merchant_id: str = ""
    order_reference: str = ""
    description: str | None = None
    authorization: Any = None

    @property
    def _merchant_key(self) -> money_out.ReadKey:
        return (CatalogItem, (MERCHANT, self.merchant_id))

    @property
    def _claim_key(self) -> money_out.ReadKey:
        return (Claim, (order_claim(self.payer_id, self.merchant_id, self.order_reference),))

    def reads(self) -> list[money_out.ReadKey]:
        return [self._merchant_key, self._claim_key]

    def checks(self, payer: Payer) -> list[money_out.Check]:
        return [
            lambda: self._merchant(payer),
            lambda: self._not_paid(payer),
            lambda: self._accepts(payer),
        ]

    def authorize(self, payer: Payer, cny: int) -> bool:
        return step_up.check_authorization(
            payer.user, payer.budget_used, self.authorization, cny, payer.now, session_id=self.session_id
        )

    def posting(self, payer: Payer) -> Posting:
        name = merchant_name(self._merchant(payer), self.locale)
        counterparty = {"kind": "merchant", "id": self.merchant_id, "name": name}
        text = self.description or phrase(ENTRY_TEXTS, "payment", self.locale, name=name)
        return Posting(
            type="payment",
            legs=[
                Leg(
                    "user_wallet",
                    self.payer_id,
                    self.currency,
                    -self.amount,
                    counterparty=counterparty,
                    description=text,
                ),
                Leg(
                    "merchant",
                    self.merchant_id,
                    self.currency,
                    self.amount,
                    description=f"order {self.order_reference}",
                ),
            ],
            parties=[self.payer_id],
            details={
                "merchant_id": self.merchant_id,
                "order_reference": self.order_reference,
                "description": self.description,
            },
        )

    def write(self, work: Work, payer: Payer, posted: Posted) -> None:
        claim = Claim(self._claim_key[1][0], user_id=self.payer_id, created_at=clock.stamp(payer.now))
        work.save(claim, condition=Claim.claim.does_not_exist())

    def answer(self, payer: Payer, posted: Posted) -> Answer:
        return Answer(201, transaction_item(posted.entry_for(self.payer_id)))

    def counterparty_for_notice(self, payer: Payer) -> str:
        return merchant_name(self._merchant(payer), payer.user.locale)

    def _merchant(self, payer: Payer) -> CatalogItem:
        merchant = payer.extras.get(self._merchant_key)
        if merchant is None or not merchant.active:
            raise OkpayError("not_found")
        return merchant

    def _not_paid(self, payer: Payer) -> None:
        if payer.extras.get(self._claim_key) is not None:
            raise OkpayError("already_paid")

    def _accepts(self, payer: Payer) -> None:
        if self.currency not in (self._merchant(payer).currencies or []):
            raise OkpayError("currency_not_accepted")


def pay(payment: Payment, now: datetime) -> dict[str, Any]:
    """Debit the payer, credit the merchant; the payer's `{transaction}` (debit side)."""
    return money_out.run(payment, now).body
