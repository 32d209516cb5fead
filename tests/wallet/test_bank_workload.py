"""A bank workload over real HTTP against the local stage on a moto server, from many threads.

Money is conserved, no balance goes negative, duplicates sent at the same moment with one
Idempotency-Key move money once, and of N concurrent transfers only N/2 of which the balance
covers, exactly N/2 succeed.
"""

from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from chalicelib.services.identity.passwords import hash_password
from tests.live_server import LiveServer, local_server

PASSWORD = "Plum-Orbit-Canvas-93!"
START = 100_000  # 1,000 CNY each
USERS = 4


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with local_server(tmp_path_factory.mktemp("workload") / "server.log") as server:
        yield server


def seed_users(live: LiveServer, prefix: str, count: int, balance: int) -> list[dict]:
    """Verified users with money, written straight into the server's moto, then signed in over HTTP."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=live.moto_endpoint,
        region_name="ap-southeast-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    password_hash = hash_password(PASSWORD)
    users = []
    for n in range(count):
        user_id = f"usr_{prefix}{n}"
        phone = f"+86134{abs(hash(prefix)) % 1000:03d}{n:05d}"
        stamp = "2026-01-01T00:00:00.000000Z"
        dynamodb.put_item(
            TableName="okpay-local-users",
            Item={
                "user_id": {"S": user_id},
                "created_at": {"S": stamp},
                "phone": {"S": phone},
                "phone_verified": {"BOOL": True},
                "email_verified": {"BOOL": False},
                "locale": {"S": "en"},
                "role": {"S": "user"},
                "status": {"S": "active"},
                "password_hash": {"S": password_hash},
                "mfa_sms": {"BOOL": False},
                "mfa_email": {"BOOL": False},
            },
        )
        dynamodb.put_item(
            TableName="okpay-local-claims",
            Item={
                "claim": {"S": f"phone#{phone}"},
                "user_id": {"S": user_id},
                "created_at": {"S": stamp},
            },
        )
        dynamodb.put_item(
            TableName="okpay-local-kyc",
            Item={
                "user_id": {"S": user_id},
                "record": {"S": "current"},
                "status": {"S": "approved"},
                "level": {"N": "3"},
                "approved_real_name": {"S": f"用户{n}"},
            },
        )
        dynamodb.put_item(
            TableName="okpay-local-balances",
            Item={
                "account_id": {"S": f"user#{user_id}"},
                "currency": {"S": "CNY"},
                "available": {"N": str(balance)},
                "version": {"N": "0"},
            },
        )
        status, _, tokens = live.call(
            "/auth/login", "POST", {"login": phone, "password": PASSWORD, "device_id": "load"}
        )
        assert status == 200, tokens
        users.append({"user_id": user_id, "auth": {"Authorization": f"Bearer {tokens['access_token']}"}})
    for payer in users:  # everyone has paid everyone before: no new-payee step-up
        for payee in users:
            if payer is not payee:
                dynamodb.put_item(
                    TableName="okpay-local-claims",
                    Item={
                        "claim": {"S": f"payee#{payer['user_id']}#{payee['user_id']}"},
                        "user_id": {"S": payer["user_id"]},
                        "created_at": {"S": stamp},
                    },
                )
    return users


def cny_balance(live: LiveServer, user: dict) -> int:
    status, _, wallet = live.call("/me/wallet", headers=user["auth"])
    assert status == 200
    return next(item["available"] for item in wallet["balances"] if item["currency"] == "CNY")


def transfer(live: LiveServer, payer: dict, payee: dict, amount: int, key: str):
    body = {"recipient": {"user_id": payee["user_id"]}, "amount": amount, "currency": "CNY"}
    return live.call("/transfers", "POST", body, {**payer["auth"], "Idempotency-Key": key})


def test_concurrent_transfers_conserve_money_and_never_go_negative(live):
    users = seed_users(live, "load", USERS, START)
    rng = random.Random(7)
    # Each payer sends at most 20 × 45 CNY = 900 CNY today: inside the step-up budget.
    jobs = []
    for payer in users:
        for _ in range(20):
            payee = rng.choice([u for u in users if u is not payer])
            jobs.append((payer, payee, rng.randint(100, 4_500), uuid.uuid4().hex))
    duplicated = jobs[::5]  # every fifth request is sent twice at once, with the same key
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: (job, transfer(live, *job)), jobs + duplicated))
    moved: dict[str, int] = {}
    for (_payer, _payee, amount, key), (status, _headers, body) in results:
        assert status in (201, 409, 422, 503), (status, body)  # 409: its twin was in flight
        if status == 201:
            moved[key] = amount
    # Progress, not only safety: a run in which nothing (or little) moved proves nothing. Each payer
    # starts with 1,000 CNY and sends at most 900, so only conflicts under load may refuse one.
    assert len(moved) >= len(jobs) * 3 // 4, f"only {len(moved)} of {len(jobs)} transfers completed"
    balances = {user["user_id"]: cny_balance(live, user) for user in users}
    assert sum(balances.values()) == USERS * START, "money was created or destroyed"
    assert all(balance >= 0 for balance in balances.values())
    sent = {user["user_id"]: 0 for user in users}
    received = dict(sent)
    for payer, payee, amount, key in jobs:
        if key in moved:
            sent[payer["user_id"]] += amount
            received[payee["user_id"]] += amount
    for user_id, balance in balances.items():
        assert balance == START - sent[user_id] + received[user_id], "a duplicate moved money twice"


def test_of_n_concurrent_transfers_that_only_half_fit_exactly_half_succeed(live):
    payer, *payees = seed_users(live, "half", 3, 10_000)
    barrier = threading.Barrier(10)

    def attempt(n: int):
        barrier.wait()
        return transfer(live, payer, payees[n % 2], 2_000, f"half-{n}")

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = [status for status, _, _ in pool.map(attempt, range(10))]
    assert statuses.count(201) == 5, statuses
    assert set(statuses) <= {201, 422}
    assert cny_balance(live, payer) == 0


def test_of_n_concurrent_payments_that_only_half_fit_exactly_half_succeed(live):
    (payer,) = seed_users(live, "pay", 1, 10_000)
    barrier = threading.Barrier(10)

    def attempt(n: int):
        barrier.wait()
        body = {"merchant_id": "mer_morning_cafe", "amount": 2_000, "currency": "CNY", "order_reference": f"cup-{n}"}
        return live.call("/payments", "POST", body, {**payer["auth"], "Idempotency-Key": f"pay-{n}"})

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = [status for status, _, _ in pool.map(attempt, range(10))]
    assert statuses.count(201) == 5, statuses
    assert set(statuses) <= {201, 422}
    assert cny_balance(live, payer) == 0


def test_one_payment_sent_many_times_at_once_with_one_key_is_paid_once(live):
    (payer,) = seed_users(live, "dup", 1, 10_000)
    barrier = threading.Barrier(6)
    body = {"merchant_id": "mer_morning_cafe", "amount": 1_500, "currency": "CNY", "order_reference": "once"}

    def attempt(_: int):
        barrier.wait()
        return live.call("/payments", "POST", body, {**payer["auth"], "Idempotency-Key": "same-key"})

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(attempt, range(6)))
    assert {status for status, _, _ in results} <= {201, 409}  # 409: request_in_progress
    assert cny_balance(live, payer) == 8_500
    status, headers, _ = live.call("/payments", "POST", body, {**payer["auth"], "Idempotency-Key": "same-key"})
    assert status == 201 and headers.get("Idempotent-Replayed") == "true"


def test_concurrent_resolves_refund_a_dispute_exactly_once(live):
    from localstage.seed import AGENT_EMAIL, AGENT_PASSWORD, AGENT_TOTP_SECRET
    from tests.helpers.mfa import next_totp

    (payer,) = seed_users(live, "dsp", 1, 10_000)
    body = {"merchant_id": "mer_morning_cafe", "amount": 3_000, "currency": "CNY", "order_reference": "disputed"}
    status, _, paid = live.call("/payments", "POST", body, {**payer["auth"], "Idempotency-Key": "dsp-pay"})
    assert status == 201, paid
    filing = {"transaction_id": paid["transaction_id"], "reason": "not_received", "description": "never arrived"}
    status, _, dispute = live.call("/disputes", "POST", filing, payer["auth"])
    assert status == 201, dispute
    status, _, challenge = live.call(
        "/auth/login", "POST", {"login": AGENT_EMAIL, "password": AGENT_PASSWORD, "device_id": "console"}
    )
    assert status == 200 and challenge["mfa_required"], challenge
    verify = {"mfa_token": challenge["mfa_token"], "method": "totp", "code": next_totp(AGENT_TOTP_SECRET)}
    status, _, tokens = live.call("/auth/mfa/verify", "POST", verify)
    assert status == 200, tokens
    agent = {"Authorization": f"Bearer {tokens['access_token']}"}
    barrier = threading.Barrier(8)

    def resolve(n: int):
        barrier.wait()
        path = f"/admin/disputes/{dispute['dispute_id']}/resolve"
        return live.call(
            path, "POST", {"outcome": "refunded", "note": "refunded"}, {**agent, "Idempotency-Key": f"r{n}"}
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(resolve, range(8)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] + [409] * 7, results
    assert all(body["error"]["code"] == "dispute_closed" for status, _, body in results if status == 409)
    assert cny_balance(live, payer) == 10_000  # 10,000 − 3,000 paid + 3,000 refunded, once
    status, _, history = live.call("/me/transactions?type=refund", headers=payer["auth"])
    assert status == 200 and [item["amount"] for item in history["data"]] == [3_000]


def test_checkout_orders_paid_and_closed_at_once_are_paid_at_most_once_and_conserve_money(live):
    """Three payers race for each of five checkout orders while the shop closes some of them."""
    payers = seed_users(live, "ord", 3, START)
    shop = {"Authorization": "Bearer sk_test_okpay_local_demo"}  # the seeded mch_demo (contract, section 10)
    orders = []
    for n in range(5):
        body = {
            "out_order_no": f"load-{uuid.uuid4().hex[:12]}",
            "amount": 1_000 + n,
            "currency": "CNY",
            "description": "load",
        }
        status, _, order = live.call("/merchant/orders", "POST", body, {**shop, "Idempotency-Key": uuid.uuid4().hex})
        assert status == 201, order
        orders.append(order)
    calls = [("pay", payer, order) for order in orders for payer in payers] + [("close", None, o) for o in orders[::2]]
    barrier = threading.Barrier(len(calls))

    def attempt(call):
        kind, payer, order = call
        barrier.wait()
        if kind == "close":
            return call, live.call(f"/merchant/orders/{order['order_id']}/close", "POST", {}, shop)
        headers = {**payer["auth"], "Idempotency-Key": uuid.uuid4().hex}
        return call, live.call(f"/orders/{order['order_id']}/pay", "POST", {}, headers)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:  # one thread per call: the barrier needs them all
        results = list(pool.map(attempt, calls))
    paid_total = 0
    for order in orders:
        wins = [status for (_, _, o), (status, _, _) in results if o is order and status in (200, 201)]
        assert len(wins) == 1, (order["order_id"], wins)  # one payment or the close, never both
        refused = [body for (_, _, o), (status, _, body) in results if o is order and status not in (200, 201)]
        assert all(body["error"]["code"] in ("order_not_open", "try_again") for body in refused), refused
        status, _, final = live.call(f"/merchant/orders/{order['order_id']}", headers=shop)
        assert final["status"] == ("paid" if wins == [201] else "closed")
        paid_total += order["amount"] if wins == [201] else 0
    balances = [cny_balance(live, payer) for payer in payers]
    assert all(balance >= 0 for balance in balances)
    assert sum(balances) + paid_total == len(payers) * START, "money was created or destroyed"


def test_merchant_refunds_racing_conserve_money_and_never_pass_what_was_paid(live):
    """Paid checkout orders refunded by many requests at once: partial refunds whose sum passes the
    payment, and retries of one out_refund_no. Money is conserved, every order's refunds stay within
    what it paid (so the merchant's account never goes below zero), and one number refunds once."""
    payers = seed_users(live, "rfd", 3, START)
    shop = {"Authorization": "Bearer sk_test_okpay_local_demo"}
    orders = []
    for n, payer in enumerate(payers * 2):
        body = {"out_order_no": f"rfd-{uuid.uuid4().hex[:12]}", "amount": 3_000, "currency": "CNY", "description": "x"}
        status, _, order = live.call("/merchant/orders", "POST", body, {**shop, "Idempotency-Key": uuid.uuid4().hex})
        assert status == 201, order
        headers = {**payer["auth"], "Idempotency-Key": uuid.uuid4().hex}
        status, _, paid = live.call(f"/orders/{order['order_id']}/pay", "POST", {}, headers)
        assert status == 201, paid
        orders.append((order, payer, f"same-{n}"))
    # Per order: four refunds of 1,000 (one too many) and the same out_refund_no of 500 three times.
    calls = [(order, payer, 1_000, uuid.uuid4().hex) for order, payer, _ in orders for _ in range(4)]
    calls += [(order, payer, 500, number) for order, payer, number in orders for _ in range(3)]
    barrier = threading.Barrier(len(calls))

    def attempt(call):
        order, _, amount, number = call
        barrier.wait()
        body = {"amount": amount, "out_refund_no": number}
        path = f"/merchant/orders/{order['order_id']}/refunds"
        return call, live.call(path, "POST", body, {**shop, "Idempotency-Key": uuid.uuid4().hex})

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        results = list(pool.map(attempt, calls))
    refunded_to: dict[str, int] = {payer["user_id"]: 0 for payer in payers}
    for order, payer, number in orders:
        mine = [(call, reply) for call, reply in results if call[0] is order]
        created = [(call, body) for call, (status, _, body) in mine if status == 201]
        refused = [body for _, (status, _, body) in mine if status not in (200, 201)]
        assert all(b["error"]["code"] in ("amount_exceeds_refundable", "try_again") for b in refused), refused
        same = {body["refund"]["refund_id"] for call, (status, _, body) in mine if call[3] == number and status < 300}
        assert len(same) <= 1, "one out_refund_no refunded twice"
        total = sum(call[2] for call, _ in created)
        assert total <= order["amount"], "refunds passed what the order paid"
        status, _, final = live.call(f"/merchant/orders/{order['order_id']}", headers=shop)
        assert final["refunded_amount"] == total
        assert final["status"] == ("refunded" if total == order["amount"] else "partially_refunded")
        refunded_to[payer["user_id"]] += total
    # Progress: at least two of the three 1,000s and the 500 fit into each order's 3,000.
    assert sum(refunded_to.values()) >= len(orders) * 2_500 * 3 // 4
    for payer in payers:
        assert cny_balance(live, payer) == START - 2 * 3_000 + refunded_to[payer["user_id"]]
