"""Converting between the wallet's currencies through the FX system account.

Contract, section 5: `amount` is debited in `from_currency`;
`to_amount = floor(amount × rates[to] / rates[from] × 10^(exp[to] − exp[from]))` with that one
rounding (`money.convert_amount`), `422 amount_too_small` below one minor unit. The rate
(`rates[to] / rates[from]`) and both amounts are recorded on the header and on both user entries.

A `Conversion` runs through the money-out pipeline (chalicelib.services.wallet.money_out) with one posting
of four legs: user −amount (from), FX +amount (from), FX −to_amount (to), user +to_amount (to), so
history shows a debit and a credit sharing one transaction id. KYC level ≥ 1 (level 0 only
receives and tops up); the money stays the user's, so conversions count towards neither the KYC
limit nor the step-up budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import ENTRY_TEXTS, phrase
from chalicelib.services.common.money import convert_amount
from chalicelib.services.wallet import money_out
from chalicelib.services.wallet.ledger import Leg, Posted, Posting, user_account
from chalicelib.services.wallet.money_out import Answer, Debit, Payer
from chalicelib.services.wallet.transaction_view import transaction_item
from chalicelib.store.wallet import Balance

RATE_DIGITS = 16  # significant digits of the recorded rate (to_amount is computed exactly)


@dataclass
class Conversion(Debit):
    kind = "conversion"
    counts_towards_limit = False
    uses_budget = False

    locale: str = "en"
    to_currency: str = ""

    def reads(self) -> list[money_out.ReadKey]:
        return [(Balance, (user_account(self.payer_id), self.to_currency))]  # its version, for the credit

    def checks(self, payer: Payer) -> list[money_out.Check]:
        return [lambda: self._to_amount(payer)]  # 422 amount_too_small

    def posting(self, payer: Payer) -> Posting:
        fx = self._fx(payer)
        text = phrase(ENTRY_TEXTS, "conversion", self.locale, source=self.currency, target=self.to_currency)
        to_amount = fx["to"]["amount"]
        return Posting(
            type="conversion",
            legs=[
                Leg("user_wallet", self.payer_id, self.currency, -self.amount, description=text, fx=fx),
                Leg("system", "fx", self.currency, self.amount, description="conversion", fx=fx),
                Leg("system", "fx", self.to_currency, -to_amount, description="conversion", fx=fx),
                Leg("user_wallet", self.payer_id, self.to_currency, to_amount, description=text, fx=fx),
            ],
            parties=[self.payer_id],
            details={"fx": fx},
        )

    def answer(self, payer: Payer, posted: Posted) -> Answer:
        return Answer(201, transaction_item(posted.entry_for(self.payer_id, self.currency)))

    def counterparty_for_notice(self, payer: Payer) -> str:
        return self.to_currency

    def _to_amount(self, payer: Payer) -> int:
        return convert_amount(self.amount, self.currency, self.to_currency, payer.rates)

    def _fx(self, payer: Payer) -> dict[str, Any]:
        return {
            "rate": rate_of(payer.rates, self.currency, self.to_currency),
            "from": {"amount": self.amount, "currency": self.currency},
            "to": {"amount": self._to_amount(payer), "currency": self.to_currency},
        }


def convert(conversion: Conversion, now: datetime) -> dict[str, Any]:
    """The debit side of the conversion, with `fx`."""
    if conversion.currency == conversion.to_currency:
        raise OkpayError("validation_error", field="to_currency", reason="format")
    return money_out.run(conversion, now).body


def rate_of(rates: dict[str, str], from_currency: str, to_currency: str) -> str:
    """rates[to] / rates[from] as a plain decimal string ("0.138", "7.246376811594203")."""
    with localcontext() as context:
        context.prec = RATE_DIGITS
        rate = Decimal(rates[to_currency]) / Decimal(rates[from_currency])
        return format(rate.normalize(), "f")
