"""Converting between the wallet's currencies through the FX system account.

Contract, section 5: `amount` is debited in `from_currency`;
`to_amount = floor(amount × rates[to] / rates[from] × 10^(exp[to] − exp[from]))` with that one
rounding (`money.convert_amount`), `422 amount_too_small` below one minor unit. The rate
(`rates[to] / rates[from]`) and both amounts are recorded on the header and on both user entries.

One posting, four legs, ONE TransactWriteItems: user −amount (from), FX +amount (from), FX −to_amount
(to), user +to_amount (to), so history shows a debit and a credit sharing one transaction id.
KYC level ≥ 1 (level 0 only receives and tops up); conversions count towards neither the KYC limit
nor the step-up budget.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import ENTRY_TEXTS, phrase
from chalicelib.services import debits, idempotency, ledger, money_out
from chalicelib.services.ledger import BalanceState, Leg, Posting, user_account
from chalicelib.services.money import convert_amount
from chalicelib.services.transaction_view import transaction_item
from chalicelib.store.wallet import Balance

RATE_DIGITS = 16  # significant digits of the recorded rate (to_amount is computed exactly)


def convert(
    user_id: str, locale: str, from_currency: str, to_currency: str, amount: int, slot: Any, now: datetime
) -> dict[str, Any]:
    """The debit side of the conversion, with `fx`."""
    if from_currency == to_currency:
        raise OkpayError("validation_error", field="to_currency", reason="format")
    to_key = (Balance, (user_account(user_id), to_currency))

    def load() -> money_out.Payer:
        return money_out.load_payer(user_id, from_currency, now, extra=[to_key])

    payer = load()
    if payer.level < 1:
        raise OkpayError("kyc_required")
    to_amount = convert_amount(amount, from_currency, to_currency, payer.rates)
    money_out.require_funds(payer, amount)

    fx = {
        "rate": rate_of(payer.rates, from_currency, to_currency),
        "from": {"amount": amount, "currency": from_currency},
        "to": {"amount": to_amount, "currency": to_currency},
    }
    text = phrase(ENTRY_TEXTS, "conversion", locale, source=from_currency, target=to_currency)
    posting = Posting(
        type="conversion",
        legs=[
            Leg("user_wallet", user_id, from_currency, -amount, description=text, fx=fx),
            Leg("system", "fx", from_currency, amount, description="conversion", fx=fx),
            Leg("system", "fx", to_currency, -to_amount, description="conversion", fx=fx),
            Leg("user_wallet", user_id, to_currency, to_amount, description=text, fx=fx),
        ],
        parties=[user_id],
        details={"fx": fx},
    )
    reply: dict[str, Any] = {}

    def finish(transaction: Any, posted: ledger.Posted) -> None:
        reply.clear()
        reply.update(transaction_item(posted.entry_for(user_id, from_currency)))
        if slot is not None:
            idempotency.finish_in(transaction, slot, 201, dict(reply), now)

    def recheck() -> OkpayError | None:
        fresh = load()
        return debits.first_problem(lambda: money_out.require_funds(fresh, amount))

    balances: dict[tuple[str, str], BalanceState] = {}
    if payer.balance:
        balances[(user_id, from_currency)] = payer.balance
    to_balance = payer.extras.get(to_key)
    if to_balance is not None:
        balances[(user_id, to_currency)] = BalanceState(int(to_balance.available), int(to_balance.version))
    debits.post(posting, now, balances=balances, slot=slot, extra=finish, recheck=recheck)
    logger.info("conversion completed", extra={"user_id": user_id, "event": "conversion"})
    cny = money_out.cny_equivalent(amount, from_currency, payer.rates)
    debits.notify_if_large(payer.user, "conversion", amount, from_currency, cny, to_currency, now)
    return reply


def rate_of(rates: dict[str, str], from_currency: str, to_currency: str) -> str:
    """rates[to] / rates[from] as a plain decimal string ("0.138", "7.246376811594203")."""
    with localcontext() as context:
        context.prec = RATE_DIGITS
        rate = Decimal(rates[to_currency]) / Decimal(rates[from_currency])
        return format(rate.normalize(), "f")
