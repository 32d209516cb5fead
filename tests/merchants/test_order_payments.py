"""A user paying a checkout order: the money-out pipeline's checks, the ledger, the order and its event
(contract v1.2, sections 5 and 14)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from chalicelib.adapters import clock
from chalicelib.store.kyc import KycRecord
from chalicelib.store.wallet import LedgerEntry, TransactionRecord
from tests.helpers.freezes import frozen_by_agent, signed_in_again
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.merchants import (
    DEMO_KEY,
    DEMO_MERCHANT,
    close_order,
    create_order,
    events_of,
    get_order,
    new_shop,
    open_order,
    patch_merchant,
    pay_order,
)
from tests.helpers.support import customer
from tests.helpers.users import PASSWORD, make_user, signed_in
from tests.helpers.wallet import add_card, top_up
from tests.helpers.wallet import balances as all_balances


def balances(client, headers) -> dict[str, int]:
    """The wallet's non-zero balances."""
    return {currency: amount for currency, amount in all_balances(client, headers).items() if amount}


def payer_at(client, level: int, amount: int):
    user = make_user()
    headers = signed_in(user)
    if level:
        KycRecord(user.user_id, "current", status="approved", level=level, approved_real_name="张三").save()
    card = add_card(client, headers)
    assert top_up(client, headers, card, amount).status_code == 201
    return user, headers


def test_paying_an_order_moves_the_money_marks_it_paid_and_reports_it(client, seeded):
    user, headers = customer(client, amount=100_000)
    order = open_order(client, DEMO_KEY, amount=2_800, description="拿铁 大杯")
    response = pay_order(client, headers, order["order_id"])
    assert response.status_code == 201, response.body
    transaction = body_of(response)
    assert (transaction["type"], transaction["direction"], transaction["amount"]) == ("payment", "debit", 2_800)
    assert transaction["counterparty"] == {"kind": "merchant", "id": DEMO_MERCHANT, "name": "Okpay Demo Shop"}
    assert transaction["description"] == "拿铁 大杯"
    assert transaction["balance_after"] == 97_200
    assert balances(client, headers) == {"CNY": 97_200}

    paid = body_of(get_order(client, DEMO_KEY, order["order_id"]))
    assert paid["status"] == "paid" and paid["transaction_id"] == transaction["transaction_id"]
    assert paid["paid_at"] is not None and paid["object_version"] == 2
    assert {k: v for k, v in paid.items() if k not in ("status", "paid_at", "transaction_id", "object_version")} == {
        k: v for k, v in order.items() if k not in ("status", "paid_at", "transaction_id", "object_version")
    }

    entries = list(LedgerEntry.by_transaction.query(transaction["transaction_id"]))
    by_account = {e.account_id.rsplit("#", 1)[0] if e.account_type == "merchant" else e.account_id: e for e in entries}
    assert set(by_account) == {f"user#{user.user_id}", f"merchant#{DEMO_MERCHANT}"}
    merchant_entry = by_account[f"merchant#{DEMO_MERCHANT}"]
    assert (merchant_entry.direction, int(merchant_entry.amount), merchant_entry.balance_after) == (
        "credit",
        2_800,
        None,
    )
    assert merchant_entry.account_id.rsplit("#", 1)[1].isdigit()  # a shard: no hot merchant item
    header = TransactionRecord.get(transaction["transaction_id"])
    assert header.type == "payment" and header.details["order_id"] == order["order_id"]

    (event,) = events_of(DEMO_MERCHANT)
    assert (event.type, event.object_id, event.object_version) == ("order.paid", order["order_id"], 2)
    assert event.data == {"order": paid}


def test_the_user_sees_the_order_before_paying_it(client, seeded):
    _, headers = customer(client)
    order = open_order(client, DEMO_KEY, amount=1_500, currency="HKD", description="书")
    shown = client.get(f"/orders/{order['order_id']}", headers={**headers, "Accept-Language": "zh-CN"})
    assert body_of(shown) == {
        "order_id": order["order_id"],
        "merchant": {"merchant_id": DEMO_MERCHANT, "name": "Okpay 演示商店"},
        "amount": 1_500,
        "currency": "HKD",
        "description": "书",
        "status": "open",
        "expires_at": order["expires_at"],
    }
    assert_error(client.get("/orders/ord_nope", headers=headers), 404, "not_found")
    assert_error(client.get(f"/orders/{order['order_id']}"), 401, "unauthorized")


def test_a_paid_order_cannot_be_paid_again_by_anyone_and_a_replay_moves_nothing(client, seeded):
    _, first = customer(client)
    _, second = customer(client)
    order = open_order(client, DEMO_KEY, amount=2_000)
    paid = pay_order(client, first, order["order_id"], key="pay-1")
    replay = pay_order(client, first, order["order_id"], key="pay-1")
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert body_of(replay) == body_of(paid)
    for headers in (first, second):
        error = assert_error(pay_order(client, headers, order["order_id"]), 409, "order_not_open")
        assert error["details"] == {"status": "paid"}
    assert balances(client, first) == {"CNY": 98_000} and balances(client, second) == {"CNY": 100_000}
    error = assert_error(close_order(client, DEMO_KEY, order["order_id"]), 409, "order_not_open")
    assert error["details"] == {"status": "paid"}
    assert [e.type for e in events_of(DEMO_MERCHANT)] == ["order.paid"]


def test_a_closed_or_expired_order_is_409_and_an_unknown_one_404(client, seeded, frozen_clock):
    _, headers = customer(client)
    closed = open_order(client, DEMO_KEY)
    close_order(client, DEMO_KEY, closed["order_id"])
    assert assert_error(pay_order(client, headers, closed["order_id"]), 409, "order_not_open")["details"] == {
        "status": "closed"
    }
    late = open_order(client, DEMO_KEY, expires_in=60)
    clock.set_test_clock(frozen_clock + timedelta(seconds=60))
    assert assert_error(pay_order(client, headers, late["order_id"]), 409, "order_not_open")["details"] == {
        "status": "expired"
    }
    assert_error(pay_order(client, headers, "ord_nope"), 404, "not_found")
    assert balances(client, headers) == {"CNY": 100_000}


def test_the_idempotency_key_is_required_and_validation_follows_the_lookup(client, seeded):
    _, headers = customer(client)
    order = open_order(client, DEMO_KEY)
    assert_error(post_json(client, f"/orders/{order['order_id']}/pay", {}, headers), 400, "idempotency_key_required")
    bad = pay_order(client, headers, order["order_id"], authorization={"password": PASSWORD, "totp": "123456"})
    assert_error(bad, 400, "validation_error")
    assert_error(pay_order(client, headers, order["order_id"], tip=5), 400, "validation_error")
    assert body_of(get_order(client, DEMO_KEY, order["order_id"]))["status"] == "open"


def test_kyc_comes_before_the_404_and_the_409(client, seeded):
    user = make_user()
    headers = signed_in(user)
    order = open_order(client, DEMO_KEY)
    close_order(client, DEMO_KEY, order["order_id"])
    assert_error(pay_order(client, headers, "ord_nope"), 403, "kyc_required")
    assert_error(pay_order(client, headers, order["order_id"]), 403, "kyc_required")


def test_a_frozen_account_cannot_pay(client, seeded):
    user, _ = customer(client)
    order = open_order(client, DEMO_KEY)
    frozen_by_agent(user)
    assert_error(pay_order(client, signed_in_again(user), order["order_id"]), 403, "account_frozen")
    assert body_of(get_order(client, DEMO_KEY, order["order_id"]))["status"] == "open"


def test_funds_then_the_limit_then_the_step_up(client, seeded):
    _, poor = customer(client, amount=1_000)
    order = open_order(client, DEMO_KEY, amount=2_000)
    assert_error(pay_order(client, poor, order["order_id"]), 422, "insufficient_funds")
    assert_error(pay_order(client, poor, order["order_id"], currency="CNY"), 400, "validation_error")

    _, level_one = payer_at(client, level=1, amount=200_000)
    big = open_order(client, DEMO_KEY, amount=120_000)  # past level 1's lifetime 1,000 CNY
    error = assert_error(pay_order(client, level_one, big["order_id"]), 422, "limit_exceeded")
    assert error["details"]["remaining"] == {"amount": 100_000, "currency": "CNY"}
    assert body_of(get_order(client, DEMO_KEY, big["order_id"]))["status"] == "open"


def test_past_the_days_budget_a_payment_needs_the_password(client, seeded):
    _, headers = customer(client, amount=500_000)
    order = open_order(client, DEMO_KEY, amount=150_000)  # 1,500 CNY: past the 1,000 CNY step-up budget
    wrong = pay_order(client, headers, order["order_id"], authorization={"password": "not-it-at-all"})
    assert_error(wrong, 422, "invalid_password")
    key = uuid.uuid4().hex
    needs = assert_error(pay_order(client, headers, order["order_id"], key=key), 403, "step_up_required")
    assert set(needs["details"]["methods"]) >= {"password"}
    assert body_of(get_order(client, DEMO_KEY, order["order_id"]))["status"] == "open"
    done = pay_order(client, headers, order["order_id"], key=key, authorization={"password": PASSWORD})
    assert done.status_code == 201, done.body
    assert balances(client, headers) == {"CNY": 350_000}
    assert body_of(get_order(client, DEMO_KEY, order["order_id"]))["status"] == "paid"


def test_a_suspended_merchants_order_cannot_be_paid(client, agent):
    _, headers = customer(client)
    merchant_id, shop = new_shop(client, agent)
    order = open_order(client, shop)
    patch_merchant(client, agent, merchant_id, status="suspended")
    assert_error(pay_order(client, headers, order["order_id"]), 404, "not_found")
    patch_merchant(client, agent, merchant_id, status="active")
    assert pay_order(client, headers, order["order_id"]).status_code == 201


def test_paying_the_demo_merchant_by_id_still_works(client, seeded):
    _, headers = customer(client)
    payload = {"merchant_id": DEMO_MERCHANT, "amount": 1_000, "currency": "CNY", "order_reference": "legacy-1"}
    response = post_json(client, "/payments", payload, {**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.body
    assert balances(client, headers) == {"CNY": 99_000}


@pytest.mark.parametrize("currency", ["HKD", "USD"])
def test_an_order_in_another_currency_debits_that_currency(client, seeded, currency):
    _, headers = customer(client, amount=50_000, currency=currency)
    order = open_order(client, DEMO_KEY, amount=1_234, currency=currency)
    assert pay_order(client, headers, order["order_id"]).status_code == 201
    assert balances(client, headers) == {currency: 48_766}
    assert create_order(client, DEMO_KEY, currency="JPY").status_code == 422
