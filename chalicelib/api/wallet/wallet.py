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
    errors=("funding_source_exists", "invalid_password", "rate_limited"),
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
)
def top_up(call: Call) -> Reply:
    body = call.body
    reply = wallet.top_up(
        call.user.user_id, call.scope.locale, body.funding_source_id, body.amount, body.currency, clock.now()
    )
    return Reply(reply, 201)
