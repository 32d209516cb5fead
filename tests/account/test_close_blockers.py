"""POST /me/close is refused while money is held in any currency (409 account_not_empty)."""

from __future__ import annotations

import pytest

from chalicelib.services.account.summary import closing_blockers
from chalicelib.store.base import shared_connection
from chalicelib.store.users import User
from chalicelib.store.wallet import Balance
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.users import PASSWORD, make_user, signed_in
from tests.helpers.wallet import add_card, top_up


def close(client, headers):
    return post_json(client, "/me/close", {"password": PASSWORD}, headers)


def test_a_balance_blocks_closing(client, stage):
    user = make_user()
    headers = signed_in(user)
    assert top_up(client, headers, add_card(client, headers), 1).status_code == 201
    assert_error(close(client, headers), 409, "account_not_empty")
    assert User.get(user.user_id).status == "active"
    assert client.get("/me", headers=headers).status_code == 200  # still signed in


@pytest.mark.parametrize("currency", ["CNY", "HKD", "USD", "EUR", "JPY"])
def test_money_in_any_currency_blocks_closing(client, stage, currency):
    user = make_user()
    headers = signed_in(user)
    Balance(f"user#{user.user_id}", "CNY", available=0, version=2).save()
    Balance(f"user#{user.user_id}", currency, available=5, version=1).save()
    assert closing_blockers(user.user_id) == [f"balance:{currency}"]
    assert_error(close(client, headers), 409, "account_not_empty")


def test_emptied_balances_do_not_block(client, stage):
    user = make_user()
    headers = signed_in(user)
    for currency in ("CNY", "JPY"):
        Balance(f"user#{user.user_id}", currency, available=0, version=4).save()
    assert closing_blockers(user.user_id) == []
    response = close(client, headers)
    assert response.status_code == 204, body_of(response)
    assert User.get(user.user_id).status == "closed"


def test_a_wallet_never_used_does_not_block(client, stage):
    headers = signed_in(make_user())
    assert close(client, headers).status_code == 204


def test_the_wrong_password_is_checked_before_the_balance(client, stage):
    headers = signed_in(make_user())
    top_up(client, headers, add_card(client, headers), 100)
    assert_error(post_json(client, "/me/close", {"password": "Not-The-Password-1"}, headers), 422, "invalid_password")


def test_the_check_is_one_consistent_query_on_balances_and_one_on_disputes(stage):
    user = make_user()
    Balance(f"user#{user.user_id}", "USD", available=7, version=1).save()
    calls = []
    events = shared_connection().client.meta.events

    def record(params, model, **_):
        calls.append((model.name, params))

    events.register("provide-client-params.dynamodb", record)
    try:
        assert closing_blockers(user.user_id) == ["balance:USD"]
    finally:
        events.unregister("provide-client-params.dynamodb", record)
    tables = [(name, params["TableName"], params.get("IndexName")) for name, params in calls]
    assert tables == [("Query", "okpay-local-balances", None), ("Query", "okpay-local-disputes", "by_user")]
    assert calls[0][1]["ConsistentRead"] is True


def test_an_open_dispute_blocks_closing_until_it_closes(client, stage):
    from chalicelib.adapters import clock
    from chalicelib.store.disputes import Dispute

    user = make_user()
    headers = signed_in(user)
    stamp = clock.stamp(clock.now())
    dispute = Dispute(
        "dsp_close0001",
        status="open",
        user_id=user.user_id,
        transaction_id="txn_x",
        transaction_type="payment",
        reason="other",
        description="d",
        amount=1,
        currency="CNY",
        respond_by=stamp,
        created_at=stamp,
        updated_at=stamp,
    )
    dispute.save()
    assert closing_blockers(user.user_id) == ["dispute:dsp_close0001"]
    assert_error(close(client, headers), 409, "account_not_empty")
    dispute.update(actions=[Dispute.status.set("rejected")])
    assert close(client, headers).status_code == 204
