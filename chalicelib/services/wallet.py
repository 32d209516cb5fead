"""A user's wallet: balances per currency, the level's limit, and top-ups from a card."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.bank_gateway import gateway
from chalicelib.errors import OkpayError
from chalicelib.services import funding_sources, idempotency, kyc, ledger, limits
from chalicelib.services.ledger import Leg, Posting
from chalicelib.services.money import CURRENCIES
from chalicelib.services.transaction_view import transaction_item
from chalicelib.store.wallet import Balance


def summary(user_id: str, now: datetime) -> dict[str, Any]:
    held = {item.currency: int(item.available) for item in Balance.query(ledger.user_account(user_id))}
    allowance = limits.allowance(user_id, kyc.level_of(user_id), now)
    return {
        "balances": [{"currency": currency, "available": held.get(currency, 0)} for currency in CURRENCIES],
        "limits": [allowance.as_limit()] if allowance.can_send else [],
    }


def top_up(
    user_id: str, locale: str, funding_source_id: str, amount: int, currency: str, slot: Any, now: datetime
) -> dict[str, Any]:
    """Charge the card, then credit the wallet from bank clearing in one ledger transaction."""
    card = funding_sources.find_card(user_id, funding_source_id)
    reference = slot.record_id if slot else f"topup#{user_id}#{funding_source_id}"
    declined = gateway().charge(card.token, amount, currency, reference)
    if declined:
        raise OkpayError(declined)
    counterparty = {"kind": "funding_source", "id": card.funding_source_id, "name": card.bank_name, "last4": card.last4}
    if locale == "zh-CN":
        description = f"银行卡充值（{card.bank_name} 尾号 {card.last4}）"
    else:
        description = f"Top-up from {card.bank_name} ending {card.last4}"
    posting = Posting(
        type="topup",
        legs=[
            Leg("user_wallet", user_id, currency, amount, counterparty=counterparty, description=description),
            Leg("system", "bank_clearing", currency, -amount, description="top-up"),
        ],
        parties=[user_id],
        details={"funding_source_id": card.funding_source_id},
    )
    reply: dict[str, Any] = {}

    def finish(transaction: Any, posted: ledger.Posted) -> None:
        reply.update(transaction_item(posted.entry_for(user_id)))
        if slot is not None:
            idempotency.finish_in(transaction, slot, 201, dict(reply), now)

    ledger.post(posting, now, extra=finish)
    return reply
