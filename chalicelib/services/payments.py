"""Paying a merchant or biller from the wallet.

One read (`money_out.load_payer`: the payer, their KYC case, balance, counters, FX rates, plus the
merchant and the order's claim in the same BatchGetItem), then the contract's check order
(section 5): 403 kyc_required → 404 merchant → 409 already_paid → 422 currency_not_accepted →
422 insufficient_funds → 422 limit_exceeded → step-up. Then ONE TransactWriteItems: the payer's
balance (conditioned), the payer's entry and the merchant's (sharded) entry, the header, the
order claim `order#<payer>#<merchant>#<ref>` (absent), the payer's limit and budget counters and
the idempotency record. A condition that fails under a concurrent request is found again by a
fresh read and answered with its own code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import ENTRY_TEXTS, phrase
from chalicelib.services import debits, idempotency, ledger, money_out, step_up
from chalicelib.services.ledger import Leg, Posting
from chalicelib.services.transaction_view import transaction_item
from chalicelib.store.catalog import MERCHANT, CatalogItem
from chalicelib.store.users import Claim


def order_claim(payer_id: str, merchant_id: str, order_reference: str) -> str:
    return f"order#{payer_id}#{merchant_id}#{order_reference}"


def pay(
    user_id: str,
    locale: str,
    merchant_id: str,
    amount: int,
    currency: str,
    order_reference: str,
    description: str | None,
    authorization: Any,
    slot: Any,
    now: datetime,
    *,
    session_id: str,
) -> dict[str, Any]:
    """Debit the payer, credit the merchant; the payer's `{transaction}` (debit side)."""
    merchant_key = (CatalogItem, (MERCHANT, merchant_id))
    claim_key = (Claim, (order_claim(user_id, merchant_id, order_reference),))

    def load() -> money_out.Payer:
        return money_out.load_payer(user_id, currency, now, extra=[merchant_key, claim_key])

    payer = load()
    money_out.require_kyc(payer)
    merchant = payer.extras.get(merchant_key)
    if merchant is None or not merchant.active:
        raise OkpayError("not_found")
    cny = money_out.cny_equivalent(amount, currency, payer.rates)

    def rules(state: money_out.Payer) -> list[Any]:
        return [
            lambda: _not_paid(state, claim_key),
            lambda: _accepts(merchant, currency),
            lambda: money_out.require_funds(state, amount),
            lambda: money_out.require_within_limit(state, cny),
        ]

    for rule in rules(payer):
        rule()
    stepped_up = step_up.check_authorization(payer, authorization, cny, now, session_id=session_id)

    name = _merchant_name(merchant, locale)
    counterparty = {"kind": "merchant", "id": merchant_id, "name": name}
    text = description or phrase(ENTRY_TEXTS, "payment", locale, name=name)
    posting = Posting(
        type="payment",
        legs=[
            Leg("user_wallet", user_id, currency, -amount, counterparty=counterparty, description=text),
            Leg("merchant", merchant_id, currency, amount, description=f"order {order_reference}"),
        ],
        parties=[user_id],
        details={"merchant_id": merchant_id, "order_reference": order_reference, "description": description},
    )
    reply: dict[str, Any] = {}

    def finish(transaction: Any, posted: ledger.Posted) -> None:
        reply.clear()
        reply.update(transaction_item(posted.entry_for(user_id)))
        transaction.save(
            Claim(claim_key[1][0], user_id=user_id, created_at=clock.stamp(now)),
            condition=Claim.claim.does_not_exist(),
        )
        money_out.count_in(transaction, payer, cny, counts_towards_limit=True, cap_budget=not stepped_up)
        if slot is not None:
            idempotency.finish_in(transaction, slot, 201, dict(reply), now)

    def recheck() -> OkpayError | None:
        fresh = load()
        budget = [] if stepped_up else [lambda: step_up.require_within_budget(fresh, cny)]
        return debits.first_problem(*rules(fresh), *budget)

    balances = {(user_id, currency): payer.balance} if payer.balance else {}
    debits.post(posting, now, balances=balances, slot=slot, extra=finish, recheck=recheck)
    logger.info("payment completed", extra={"user_id": user_id, "merchant_id": merchant_id, "event": "payment"})
    notice_name = _merchant_name(merchant, payer.user.locale)
    debits.notify_if_large(payer.user, "payment", amount, currency, cny, notice_name, now)
    return reply


def _not_paid(payer: money_out.Payer, claim_key: tuple) -> None:
    if payer.extras.get(claim_key) is not None:
        raise OkpayError("already_paid")


def _accepts(merchant: CatalogItem, currency: str) -> None:
    if currency not in (merchant.currencies or []):
        raise OkpayError("currency_not_accepted")


def _merchant_name(merchant: CatalogItem, locale: str | None) -> str:
    return (merchant.name_zh if locale == "zh-CN" and merchant.name_zh else merchant.name_en) or merchant.item_id
