"""The wallet: balances and limits, bank cards, top-ups."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.account import profile as accounts
from chalicelib.services.wallet import funding_sources
from chalicelib.services.wallet import topups as wallet


@operation(
    "GET",
    "/me/wallet",
    schemas="wallet",
    summary="Balances per currency and what is left to send",
    tag="wallet",
    auth="user",
    response="WalletState",
    description=(
        "`balances`: every supported currency in a fixed order, `available` in its minor units (0 for a "
        "currency never held). `limits`: what the KYC level still lets the user send (payments and "
        "transfers; conversions and withdrawals to the user's own card do not count), in CNY minor "
        "units: one item for the level's window (`lifetime` at level 1: 1,000 CNY in all; `year` at "
        "level 2 and above, a calendar year in Asia/Shanghai, with `resets_at`), none at level 0, "
        "which only receives and tops up."
    ),
)
def read_wallet(call: Call) -> dict:
    return wallet.summary(call.user.user_id, clock.now())


@operation(
    "POST",
    "/me/funding-sources",
    schemas="wallet",
    summary="Add a bank card",
    tag="wallet",
    auth="user",
    body="CardAdd",
    response="Card",
    status=201,
    idempotency="optional",
    errors=("account_frozen", "funding_source_exists", "invalid_password", "rate_limited"),
    description=(
        "Adds a bank card after re-authentication with the account `password` (wrong: "
        "`422 invalid_password`; the 5th wrong one in a session revokes that session). The number is "
        "Luhn-checked (`400 validation_error`, `field: card_number`) and never stored, logged or "
        "returned: only its last 4 digits are kept. The same card again is `409 funding_source_exists`. "
        "Withdrawals go only to a card whose `holder_name` is the verified real name. A security "
        "notice goes to the verified email and phone. `Idempotency-Key` is optional and honoured. While the "
        "account is frozen: `403 account_frozen`, right after validation."
    ),
)
def add_card(call: Call) -> Reply:
    user = accounts.active_account(call.user.account)
    body = call.body
    card = funding_sources.add_card(
        user,
        body.card_number,
        body.holder_name,
        body.bank_name,
        body.password,
        clock.now(),
        session_id=call.user.session_id,
    )
    return Reply(card, 201)


@operation(
    "GET",
    "/me/funding-sources",
    schemas="wallet",
    summary="The user's bank cards",
    tag="wallet",
    auth="user",
    response="CardList",
    description=(
        "Every card of the user, not paged, as `{funding_source_id, type, last4, bank_name, holder_name, "
        "created_at}`; the card number is never returned."
    ),
)
def list_cards(call: Call) -> dict:
    return {"data": funding_sources.list_cards(call.user.user_id)}


@operation(
    "DELETE",
    "/me/funding-sources/{funding_source_id}",
    schemas="wallet",
    summary="Remove a bank card",
    tag="wallet",
    auth="user",
    status=204,
    errors=("not_found",),
    description=(
        "Removes one of the user's cards (another user's card is `404 not_found`). Past entries keep "
        "naming it as their counterparty. A security notice goes to the verified email and phone."
    ),
)
def remove_card(call: Call) -> Reply:
    user = accounts.active_account(call.user.account)
    funding_sources.remove_card(user, call.params["funding_source_id"], clock.now())
    return Reply(None, 204)


@operation(
    "POST",
    "/me/topups",
    schemas="wallet",
    summary="Top up from a bank card",
    tag="wallet",
    auth="user",
    body="TopUp",
    response="Transaction",
    status=201,
    idempotency="required",
    errors=("not_found", "card_declined", "bank_insufficient_funds", "idempotency_key_reused", "request_in_progress"),
    description=(
        "Charges one of the user's cards and credits the wallet: `201 {transaction}` of type `topup`, a "
        "credit whose counterparty is the card. Open at every KYC level, and not counted towards the "
        "sending limits. A card that is not the user's is `404 not_found`; the bank saying no is "
        "`402 card_declined` or `402 bank_insufficient_funds` (local-stage simulator, fixed when the "
        "card is added: 4000000000000002 declines, 4000000000009995 has no funds, others succeed). "
        "When the bank does not answer: `503 try_again` with `Retry-After`; repeating with the same "
        "`Idempotency-Key` carries on the same charge, so the card is never charged twice."
    ),
)
def top_up(call: Call) -> Reply:
    body = call.body
    reply = wallet.top_up(
        call.user.user_id, call.scope.locale, body.funding_source_id, body.amount, body.currency, clock.now()
    )
    return Reply(reply, 201)
