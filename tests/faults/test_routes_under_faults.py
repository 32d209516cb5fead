"""The routes of a user's day under DynamoDB faults (contract v1.2, section 1): each request, repeated
with its Idempotency-Key while it answers 503, ends as it would without faults, and none answers 500.
Multi-step flows that are not one transaction (registration, sign-in, KYC, tickets) are safe to
repeat after a 503 at any step."""

from __future__ import annotations

import uuid

import pytest

from localstage.faults import FAULTS
from tests.helpers.codes import last_code
from tests.helpers.faults import clear_faults, set_faults
from tests.helpers.http import body_of, post_json
from tests.helpers.kyc import resident_id
from tests.helpers.users import PASSWORD, make_user, new_email, new_phone, signed_in
from tests.helpers.wallet import CAFE, add_card
from tests.wallet.test_invariants import check_invariants
from tests.wallet.test_transfers import funded, verified


class Retrying:
    """Sends each request until it is not 503 (the same key each time), counting what came back."""

    def __init__(self, client):
        self.client = client
        self.statuses: list[int] = []

    def post(self, path, body, headers=None, *, key=True):
        extra = {"Idempotency-Key": uuid.uuid4().hex} if key else {}
        return self._until_done(lambda: post_json(self.client, path, body, {**(headers or {}), **extra}))

    def get(self, path, headers):
        return self._until_done(lambda: self.client.get(path, headers=headers))

    def _until_done(self, send):
        for _ in range(80):
            response = send()
            self.statuses.append(response.status_code)
            assert response.status_code != 500, response.body
            if response.status_code != 503:
                return response
            assert int(response.headers["Retry-After"]) >= 1
        raise AssertionError("still 503 after 80 tries")


@pytest.mark.parametrize("seed", [1, 2])
def test_a_users_day_under_throttling_and_conflicts_ends_as_without_them_and_never_500(client, seeded, seed):
    payer, headers = funded(client, amount=300_000)
    payee, _ = verified(name="李四")
    card = add_card(client, headers, number="4111111111111111")
    newcomer = make_user()
    newcomer_headers = signed_in(newcomer)
    set_faults(client, dynamodb={"throttle": 0.3, "conflict": 0.2}, seed=seed)
    run = Retrying(client)

    assert run.get("/me", headers).status_code == 200
    assert run.get("/me/wallet", headers).status_code == 200
    assert run.get("/me/transactions", headers).status_code == 200
    topped = run.post("/me/topups", {"funding_source_id": card, "amount": 5_000, "currency": "CNY"}, headers)
    print("HIST", FAULTS.history())
    assert topped.status_code == 201, (run.statuses, topped.body)
    sent = run.post(
        "/transfers", {"recipient": {"user_id": payee.user_id}, "amount": 2_000, "currency": "CNY"}, headers
    )
    assert sent.status_code == 201, sent.body
    paid = run.post(
        "/payments",
        {"merchant_id": CAFE, "amount": 3_000, "currency": "CNY", "order_reference": uuid.uuid4().hex},
        headers,
    )
    assert paid.status_code == 201, paid.body
    converted = run.post("/me/conversions", {"from_currency": "CNY", "to_currency": "USD", "amount": 10_000}, headers)
    assert converted.status_code == 201, converted.body
    ticket = run.post(
        "/support/tickets", {"subject": "转账没到账", "body": "请帮忙查一下。", "category": "transfer"}, headers
    )
    assert ticket.status_code == 201, ticket.body
    dispute = run.post(
        "/disputes",
        {"transaction_id": body_of(paid)["transaction_id"], "reason": "unauthorized", "description": "不是我本人。"},
        headers,
    )
    assert dispute.status_code == 201, dispute.body
    kyc = run.post(
        "/me/kyc",
        {
            "real_name": "王五",
            "id_type": "cn_resident_id",
            "id_number": resident_id(__import__("datetime").date(1990, 3, 7)),
        },
        newcomer_headers,
    )
    assert kyc.status_code == 202, kyc.body
    signed = run.post("/auth/login", {"login": payer.phone, "password": PASSWORD, "device_id": "d-faults"}, key=False)
    assert signed.status_code == 200, signed.body
    renewed = run.post("/auth/token/refresh", {"refresh_token": body_of(signed)["refresh_token"]}, key=False)
    assert renewed.status_code == 200, renewed.body

    phone = new_phone()
    assert run.post("/auth/register/start", {"phone": phone}, key=False).status_code == 202
    account = {
        "phone": phone,
        "code": last_code(phone),
        "email": new_email(),
        "password": PASSWORD,
        "display_name": "A",
    }
    registered = run.post("/auth/register", account, key=False)
    assert registered.status_code == 201, (run.statuses[-8:], registered.body, FAULTS.history()[-12:])

    injected = FAULTS.counts()
    clear_faults(client)
    assert injected["throttle"] > 0 and injected["conflict"] > 0
    assert 500 not in run.statuses
    check_invariants([])
