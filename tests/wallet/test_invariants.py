"""Invariants under random sequences of money movements (hypothesis).

Whatever happens — top-ups, transfers, payments, checkout orders paid (mch_demo, section 14) and
refunded by the merchant, conversions, withdrawals, replays of earlier
requests with their keys, refusals — afterwards:
- money is conserved: for each currency the signed sum of every ledger entry is zero;
- no user balance is negative, and no merchant's account (the sum of its entries) either;
- each user's history sums to their balance, and its newest entry's `balance_after` is it;
- a replayed request moved nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict

import boto3
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

import app as app_module
from chalicelib.adapters.config import get_settings
from chalicelib.store.kyc import KycRecord
from chalicelib.store.wallet import Balance, LedgerEntry
from localstage.resources import create_stage_resources
from localstage.seed import seed
from tests.helpers.paths import PROJECT_DIR
from tests.helpers.users import PASSWORD, make_user, signed_in
from tests.helpers.wallet import GOOD_CARD

USERS = 3
CURRENCIES = ["CNY", "USD", "JPY"]

user_index = st.integers(min_value=0, max_value=USERS - 1)
amount = st.integers(min_value=1, max_value=60_000)
currency = st.sampled_from(CURRENCIES)
operation = st.one_of(
    st.tuples(st.just("topup"), user_index, amount, currency),
    st.tuples(st.just("transfer"), user_index, user_index, amount, currency),
    st.tuples(st.just("payment"), user_index, amount, currency),
    st.tuples(st.just("order"), user_index, amount, currency),
    st.tuples(st.just("conversion"), user_index, amount, currency, currency),
    st.tuples(st.just("withdrawal"), user_index, amount, currency),
    st.tuples(st.just("replay"), st.integers(min_value=0, max_value=50)),
    st.tuples(st.just("refund"), st.integers(min_value=0, max_value=50), amount),
)
SHOP = {"Authorization": "Bearer sk_test_okpay_local_demo"}


def _post(http, path, body, headers, key):
    return http.post(
        path,
        body=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json", "Idempotency-Key": key},
    )


def _order_to_pay(http, value, cur, n):
    """A checkout order of the seeded mch_demo (CNY, HKD, USD); an unknown one when it refuses `cur`."""
    body = {"out_order_no": f"inv-{n}", "amount": value, "currency": cur, "description": "invariants"}
    shop = {"Authorization": "Bearer sk_test_okpay_local_demo"}
    response = _post(http, "/merchant/orders", body, shop, f"order{n}")
    return json.loads(response.body)["order_id"] if response.status_code == 201 else "ord_refused"


def _request_for(op, users, cards, http=None, n=0):
    kind = op[0]
    if kind == "order":
        _, who, value, cur = op
        return who, f"/orders/{_order_to_pay(http, value, cur, n)}/pay", {"authorization": {"password": PASSWORD}}
    if kind == "topup":
        _, who, value, cur = op
        return who, "/me/topups", {"funding_source_id": cards[who], "amount": value, "currency": cur}
    if kind == "transfer":
        _, who, to, value, cur = op
        return who, "/transfers", {"recipient": {"user_id": users[to][0].user_id}, "amount": value, "currency": cur}
    if kind == "payment":
        _, who, value, cur = op
        body = {
            "merchant_id": "mer_global_travel",
            "amount": value,
            "currency": cur,
            "order_reference": f"o{value}{cur}",
        }
        return who, "/payments", {**body, "authorization": {"password": PASSWORD}}
    if kind == "conversion":
        _, who, value, source, target = op
        return who, "/me/conversions", {"from_currency": source, "to_currency": target, "amount": value}
    _, who, value, cur = op
    return (
        who,
        "/me/withdrawals",
        {"funding_source_id": cards[who], "amount": value, "currency": cur, "authorization": {"password": PASSWORD}},
    )


def check_invariants(users):
    totals: dict[str, int] = defaultdict(int)
    per_user: dict[tuple[str, str], int] = defaultdict(int)
    newest: dict[tuple[str, str], LedgerEntry] = {}
    merchants: dict[tuple[str, str], int] = defaultdict(int)
    for item in LedgerEntry.scan():
        signed = int(item.amount) if item.direction == "credit" else -int(item.amount)
        totals[item.currency] += signed
        if item.account_type == "merchant":
            merchants[(item.account_id.rsplit("#", 1)[0], item.currency)] += signed
        if item.account_type == "user_wallet":
            key = (item.account_id, item.currency)
            per_user[key] += signed
            if key not in newest or item.entry_key > newest[key].entry_key:
                newest[key] = item
    assert all(total == 0 for total in totals.values()), f"money created or destroyed: {dict(totals)}"
    assert all(net >= 0 for net in merchants.values()), f"a merchant account went negative: {dict(merchants)}"
    for balance in Balance.scan():
        key = (balance.account_id, balance.currency)
        assert int(balance.available) >= 0, key
        assert per_user[key] == int(balance.available), f"history does not sum to the balance: {key}"
        assert int(newest[key].balance_after) == int(balance.available), key


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=25))
def test_random_sequences_keep_the_ledger_sound(operations):
    with mock_aws():
        create_stage_resources(boto3.session.Session(), get_settings())
        seed()
        with Client(app_module.app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
            http = client.http
            users = [(user, signed_in(user)) for user in (make_user() for _ in range(USERS))]
            cards = []
            for user, headers in users:
                KycRecord(user.user_id, "current", status="approved", level=3, approved_real_name="张三").save()
                body = {"type": "bank_card", "card_number": GOOD_CARD, "holder_name": "张三", "password": PASSWORD}
                response = http.post(
                    "/me/funding-sources",
                    body=json.dumps(body).encode(),
                    headers={**headers, "Content-Type": "application/json"},
                )
                cards.append(json.loads(response.body)["funding_source_id"])
            sent = []
            paid_orders: list[str] = []
            for n, op in enumerate(operations):
                if op[0] == "refund":  # the merchant refunds one of the orders paid so far
                    if paid_orders:
                        order_id = paid_orders[op[1] % len(paid_orders)]
                        body = {"amount": op[2], "out_refund_no": f"r{n}"}
                        response = _post(http, f"/merchant/orders/{order_id}/refunds", body, SHOP, f"refund{n}")
                        assert response.status_code in (201, 422, 503), response.body
                    continue
                if op[0] == "replay":
                    if not sent:
                        continue
                    who, path, body, key, first = sent[op[1] % len(sent)]
                    before = {b.account_id + b.currency: int(b.available) for b in Balance.scan()}
                    again = _post(http, path, body, users[who][1], key)
                    after = {b.account_id + b.currency: int(b.available) for b in Balance.scan()}
                    if first.status_code < 500 and first.status_code not in (400, 401, 429):
                        assert again.status_code == first.status_code and again.body == first.body
                    if first.status_code != 503:  # a 503 is not stored: its replay is a new attempt
                        assert after == before, "a replay moved money"
                else:
                    who, path, body = _request_for(op, users, cards, http, n)
                    key = f"op{n}"
                    response = _post(http, path, body, users[who][1], key)
                    assert response.status_code < 500 or response.status_code == 503, response.body
                    if op[0] == "order" and response.status_code == 201:
                        paid_orders.append(path.split("/")[2])
                    sent.append((who, path, body, key, response))
            check_invariants(users)
