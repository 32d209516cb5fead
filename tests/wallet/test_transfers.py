"""Transfers: the contract's check order, step-up confirmation, codes bound to the transfer, limits."""

from __future__ import annotations

import re
from datetime import timedelta

import jsonschema
import pytest

from chalicelib.adapters import clock, outbox
from chalicelib.api.schemas.transfers import Lookup, TransferRequest
from chalicelib.api.validation import validate
from chalicelib.errors import OkpayError
from chalicelib.store.kyc import KycRecord
from chalicelib.store.users import Claim, phone_claim
from chalicelib.store.wallet import LedgerEntry
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.users import PASSWORD, make_user, signed_in
from tests.helpers.wallet import add_card, balances, top_up


def verified(level=2, name="张三", locale="en"):
    user = make_user(locale=locale)
    headers = signed_in(user)
    KycRecord(user.user_id, "current", status="approved", level=level, approved_real_name=name).save()
    Claim(phone_claim(user.phone), user_id=user.user_id, created_at=user.created_at).save()
    return user, headers


def funded(client, amount=1_000_000, level=2):
    user, headers = verified(level=level)
    top_up(client, headers, add_card(client, headers), amount)
    return user, headers


def send(client, headers, payee, amount, currency="CNY", key=None, **extra):
    payload = {"recipient": {"user_id": payee.user_id}, "amount": amount, "currency": currency, **extra}
    return post_json(client, "/transfers", payload, {**headers, "Idempotency-Key": key or f"k{amount}{payee.user_id}"})


def fresh_token(user):
    from chalicelib.services.identity import sessions

    pair = sessions.start_session(user, device_id="d", device_name=None, now=clock.now())
    return {"Authorization": f"Bearer {pair.access_token}"}


def last_code(phone):
    for message in outbox.messages(phone):
        found = re.search(r"(?:Code |验证码 )(\d{6})", message.body)
        if found:
            return found.group(1)
    raise AssertionError("no transfer code sent")


def confirm(client, headers, transfer_id, code, key="c", **extra):
    return post_json(
        client, f"/transfers/{transfer_id}/confirm", {"code": code, **extra}, {**headers, "Idempotency-Key": key}
    )


def test_a_small_transfer_completes_at_once_and_both_sides_see_it(client, seeded):
    payer, payer_headers = funded(client)
    payee, payee_headers = verified(name="李四")
    response = send(client, payer_headers, payee, 10_000, note="午饭")
    assert response.status_code == 201
    transfer = body_of(response)
    assert transfer["status"] == "completed" and transfer["note"] == "午饭"
    assert transfer["payer"] == {"user_id": payer.user_id, "masked_name": "*三"}
    assert transfer["recipient"] == {"user_id": payee.user_id, "masked_name": "*四"}
    assert balances(client, payer_headers)["CNY"] == 990_000 and balances(client, payee_headers)["CNY"] == 10_000
    assert body_of(client.get(f"/transfers/{transfer['transfer_id']}", headers=payee_headers)) == transfer
    _, stranger = verified()
    assert_error(client.get(f"/transfers/{transfer['transfer_id']}", headers=stranger), 404, "not_found")
    entries = list(LedgerEntry.by_transaction.query(transfer["transaction_id"]))
    assert sorted((e.direction, int(e.amount)) for e in entries) == [("credit", 10_000), ("debit", 10_000)]
    assert {int(e.balance_after) for e in entries} == {990_000, 10_000}


def test_lookup_masks_the_real_name_and_needs_kyc(client, seeded):
    _, headers = verified()
    payee, _ = verified(name="欧阳娜娜")
    body = body_of(post_json(client, "/recipients/lookup", {"phone": payee.phone}, headers))
    assert body == {"user_id": payee.user_id, "masked_name": "***娜", "display_name": None}
    assert_error(
        post_json(client, "/recipients/lookup", {"phone": "+8613311112222"}, headers), 404, "recipient_not_found"
    )
    assert_error(
        post_json(client, "/recipients/lookup", {"phone": payee.phone, "email": "x@example.com"}, headers),
        400,
        "validation_error",
    )
    unverified = signed_in(make_user())
    assert_error(post_json(client, "/recipients/lookup", {"phone": payee.phone}, unverified), 403, "kyc_required")


def test_a_malformed_contact_names_the_field_of_the_request_it_is_in(client, seeded):
    _, headers = verified()
    lookup = {"phone": "12345"}
    assert_error(post_json(client, "/recipients/lookup", lookup, headers), 400, "validation_error", field="phone")
    lookup = {"email": "not-an-email"}
    assert_error(post_json(client, "/recipients/lookup", lookup, headers), 400, "validation_error", field="email")
    transfer = {"recipient": {"phone": "12345"}, "amount": 100, "currency": "CNY"}
    assert_error(
        post_json(client, "/transfers", transfer, {**headers, "Idempotency-Key": "bad-phone"}),
        400,
        "validation_error",
        field="recipient.phone",
    )


def test_lookups_are_capped_at_30_a_day(client, seeded):
    _, headers = verified()
    payee, _ = verified()
    for _ in range(30):
        assert post_json(client, "/recipients/lookup", {"phone": payee.phone}, headers).status_code == 200
    response = post_json(client, "/recipients/lookup", {"phone": payee.phone}, headers)
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


def test_the_check_order(client, seeded):
    payee, _ = verified()
    unverified_headers = signed_in(make_user())
    assert_error(send(client, unverified_headers, payee, 100), 403, "kyc_required")
    payer, headers = funded(client, amount=5_000)
    payer.update(actions=[payer.__class__.phone_verified.set(False)])
    assert_error(send(client, headers, payee, 100, key="a"), 403, "phone_not_verified")
    payer.update(actions=[payer.__class__.phone_verified.set(True)])
    nobody = post_json(
        client,
        "/transfers",
        {"recipient": {"user_id": "usr_nobody"}, "amount": 1, "currency": "CNY"},
        {**headers, "Idempotency-Key": "b"},
    )
    assert_error(nobody, 404, "recipient_not_found")
    assert_error(send(client, headers, payer, 100, key="c"), 422, "self_transfer")
    assert_error(send(client, headers, payee, 5_001, key="d"), 422, "insufficient_funds")
    assert_error(send(client, headers, payee, 1, currency="USD", key="e"), 422, "insufficient_funds")


def test_level_1_may_send_1000_cny_since_opening(client, seeded):
    payer, headers = funded(client, level=1)
    payee, _ = verified()
    KycRecord(payer.user_id, "current", status="approved", level=1, approved_real_name="张三").save()
    assert send(client, headers, payee, 15_000, key="a").status_code == 201  # 150 CNY: no step-up
    error = assert_error(send(client, headers, payee, 90_000, key="b"), 422, "limit_exceeded")
    assert error["details"] == {
        "remaining": {"amount": 85_000, "currency": "CNY"},
        "window": "lifetime",
        "resets_at": None,
    }


def test_usd_counts_in_cny_equivalent_rounded_up(client, seeded):
    _payer, headers = verified(level=1)
    top_up(client, headers, add_card(client, headers), 20_000, currency="USD")
    payee, _ = verified()
    # 138.01 USD / 0.1380 = 1000.07 CNY > 1,000 CNY
    error = assert_error(send(client, headers, payee, 13_801, currency="USD"), 422, "limit_exceeded")
    assert error["details"]["remaining"]["amount"] == 100_000


@pytest.mark.parametrize(("amount", "why"), [(20_000, "new payee ≥ 200 CNY"), (100_000, "≥ 1,000 CNY")])
def test_risky_transfers_wait_for_an_sms_code_bound_to_them(client, seeded, amount, why):
    payer, headers = funded(client)
    payee, payee_headers = verified(name="李四")
    response = send(client, headers, payee, amount)
    assert response.status_code == 202, why
    transfer = body_of(response)
    assert transfer["status"] == "requires_confirmation" and transfer["attempts_left"] == 5
    sms = outbox.messages(payer.phone)[0].body
    assert "*四" in sms and f"{amount // 100:,}.00 CNY" in sms
    assert balances(client, headers)["CNY"] == 1_000_000  # nothing moved, nothing reserved
    done = confirm(client, headers, transfer["transfer_id"], last_code(payer.phone))
    assert done.status_code == 200 and body_of(done)["status"] == "completed"
    assert balances(client, payee_headers)["CNY"] == amount
    again = confirm(client, headers, transfer["transfer_id"], last_code(payer.phone), key="other")
    assert assert_error(again, 409, "transfer_not_pending")["details"] == {"status": "completed"}


def test_past_the_daily_budget_even_known_payees_need_a_code(client, seeded):
    _payer, headers = funded(client)
    payee, _ = verified()
    assert send(client, headers, payee, 15_000, key="1").status_code == 201  # new payee, < 200 CNY
    assert send(client, headers, payee, 80_000, key="2").status_code == 201  # known payee, 950 CNY today
    assert send(client, headers, payee, 10_000, key="3").status_code == 202  # 1,050 CNY > budget


def test_five_wrong_codes_cancel_the_transfer(client, seeded):
    payer, headers = funded(client)
    payee, _ = verified()
    transfer = body_of(send(client, headers, payee, 100_000))
    right = last_code(payer.phone)
    wrong = "000000" if right != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        response = confirm(client, headers, transfer["transfer_id"], wrong, key=f"w{left}")
        assert assert_error(response, 422, "invalid_code")["details"] == {"attempts_left": left}
    assert body_of(client.get(f"/transfers/{transfer['transfer_id']}", headers=headers))["status"] == "canceled"
    assert_error(confirm(client, headers, transfer["transfer_id"], right, key="r"), 409, "transfer_not_pending")
    assert balances(client, headers)["CNY"] == 1_000_000


def test_a_code_expires_after_5_minutes_and_moves_nothing(client, seeded):
    payer, headers = funded(client)
    payee, _ = verified()
    clock.set_test_clock(clock.now())
    transfer = body_of(send(client, headers, payee, 100_000))
    clock.set_test_clock(clock.now() + timedelta(minutes=5, seconds=1))
    error = assert_error(
        confirm(client, headers, transfer["transfer_id"], last_code(payer.phone)), 409, "transfer_not_pending"
    )
    assert error["details"] == {"status": "expired"}
    assert body_of(client.get(f"/transfers/{transfer['transfer_id']}", headers=headers))["status"] == "expired"
    assert balances(client, headers)["CNY"] == 1_000_000


def test_confirming_checks_the_balance_again(client, seeded):
    payer, headers = funded(client, amount=150_000)
    payee, _ = verified()
    other, _ = verified()
    transfer = body_of(send(client, headers, payee, 100_000))  # 1,000 CNY: waits for its code
    code = last_code(payer.phone)
    assert send(client, headers, other, 15_000, key="small").status_code == 201  # new payee, 150 CNY
    assert send(client, headers, other, 50_000, key="known").status_code == 201  # known payee, 650 CNY today
    assert balances(client, headers)["CNY"] == 85_000
    assert_error(confirm(client, headers, transfer["transfer_id"], code), 422, "insufficient_funds")
    assert (
        body_of(client.get(f"/transfers/{transfer['transfer_id']}", headers=headers))["status"]
        == "requires_confirmation"
    )


def test_cancel_and_resend(client, seeded):
    _payer, headers = funded(client)
    payee, payee_headers = verified()
    transfer = body_of(send(client, headers, payee, 100_000))
    assert_error(client.post(f"/transfers/{transfer['transfer_id']}/cancel", headers=payee_headers), 404, "not_found")
    clock.set_test_clock(clock.now())
    for _ in range(3):
        clock.set_test_clock(clock.now() + timedelta(seconds=61))
        assert client.post(f"/transfers/{transfer['transfer_id']}/resend", headers=headers).status_code == 202
    clock.set_test_clock(clock.now() + timedelta(seconds=61))
    assert_error(client.post(f"/transfers/{transfer['transfer_id']}/resend", headers=headers), 429, "rate_limited")
    canceled = client.post(f"/transfers/{transfer['transfer_id']}/cancel", headers=headers)
    assert canceled.status_code == 200 and body_of(canceled)["status"] == "canceled"
    assert_error(
        client.post(f"/transfers/{transfer['transfer_id']}/cancel", headers=headers), 409, "transfer_not_pending"
    )


def test_a_replayed_transfer_moves_money_once(client, seeded):
    _payer, headers = funded(client)
    payee, payee_headers = verified()
    first = send(client, headers, payee, 10_000, key="same")
    again = send(client, headers, payee, 10_000, key="same")
    assert again.headers.get("Idempotent-Replayed") == "true" and body_of(again) == body_of(first)
    assert balances(client, payee_headers)["CNY"] == 10_000


def test_a_current_totp_code_confirms_too(client, seeded):
    import pyotp

    from chalicelib.services.identity import totp
    from chalicelib.store.users import User

    payer, headers = funded(client)
    payee, _ = verified()
    secret = pyotp.random_base32()
    payer.update(actions=[User.totp_secret.set(totp.seal_secret(payer.user_id, secret))])
    transfer = body_of(send(client, headers, payee, 100_000))
    done = confirm(client, headers, transfer["transfer_id"], pyotp.TOTP(secret).now(), method="totp")
    assert done.status_code == 200 and body_of(done)["status"] == "completed"


def test_more_than_ten_wrong_step_up_codes_a_day_block_money_out_until_a_password_login(client, seeded):
    from datetime import datetime

    clock.set_test_clock(datetime.fromisoformat("2026-06-01T08:00:00+08:00"))  # one Shanghai day
    payer, headers = funded(client)
    payee, _ = verified()
    for attempt in range(11):
        headers = fresh_token(payer)  # access tokens last 15 minutes of the (moving) clock
        transfer = body_of(send(client, headers, payee, 100_000, key=f"t{attempt}"))
        wrong = "000000" if last_code(payer.phone) != "000000" else "111111"
        assert_error(confirm(client, headers, transfer["transfer_id"], wrong, key=f"w{attempt}"), 422, "invalid_code")
        clock.set_test_clock(clock.now() + timedelta(minutes=7))  # within the SMS limits (10 an hour)
    headers = fresh_token(payer)
    assert_error(send(client, headers, payee, 100, key="blocked"), 403, "forbidden")
    clock.set_test_clock(clock.now() + timedelta(minutes=30))  # past the login lock from the wrong codes
    login = post_json(client, "/auth/login", {"login": payer.phone, "password": PASSWORD, "device_id": "d"})
    assert login.status_code == 200
    assert send(client, fresh_token(payer), payee, 100, key="after-login").status_code == 201


def test_a_large_transfer_sends_a_notice_and_counts_in_both_limit_windows(client, seeded):
    from chalicelib.services.wallet import limits
    from chalicelib.store.counters import Counter

    payer, headers = funded(client, amount=2_000_000)
    payee, _ = verified(name="李四")
    transfer = body_of(send(client, headers, payee, 600_000))  # 6,000 CNY: confirmed, then noticed
    assert confirm(client, headers, transfer["transfer_id"], last_code(payer.phone)).status_code == 200
    assert any("6,000.00 CNY" in message.body for message in outbox.messages(payer.email))
    for level in (1, 2):
        _, window_id, _ = limits.window_of(level, clock.now())
        assert int(Counter.get(limits.limit_counter_id(payer.user_id, window_id)).count) == 600_000


# --- the documented shapes ------------------------------------------------------------------------

USER_ID = "usr_0d2f4b6a8c1e4a3c5e7b9d1f3a5c7e9b"
RECIPIENTS = [
    ({"user_id": USER_ID}, True),
    ({"phone": "+8613800138000"}, True),
    ({"email": "lisi@example.com"}, True),
    ({"user_id": USER_ID, "phone": None, "email": None}, True),  # absent and null are the same
    ({"phone": "+8613800138000", "user_id": None}, True),
    ({}, False),
    ({"user_id": None}, False),
    ({"user_id": USER_ID, "phone": "+8613800138000"}, False),
    ({"user_id": USER_ID, "phone": "+8613800138000", "email": "lisi@example.com"}, False),
    ({"user_id": USER_ID, "name": "李四"}, False),
    ({"user_id": ""}, False),
]


def documented(client, name):
    """A validator for the component schema `name` of the served document."""
    document = body_of(client.get("/openapi.json"))
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize(("recipient", "accepted"), RECIPIENTS)
def test_the_documented_recipient_accepts_what_the_server_accepts(client, recipient, accepted):
    """`recipient` is "exactly one of user_id, phone, email": the document's oneOf and the server's
    validation agree on every shape, including the others given as null."""
    body = {"recipient": recipient, "amount": 100, "currency": "CNY"}
    assert documented(client, "TransferRequest").is_valid(body) is accepted
    try:
        validate(TransferRequest, body)
        served = True
    except OkpayError as error:
        served = False
        assert error.field.startswith("recipient")
    assert served is accepted


@pytest.mark.parametrize(
    ("lookup", "accepted"),
    [
        ({"phone": "+8613800138000"}, True),
        ({"email": "lisi@example.com", "phone": None}, True),
        ({}, False),
        ({"phone": "+8613800138000", "email": "lisi@example.com"}, False),
        ({"user_id": USER_ID}, False),
    ],
)
def test_the_documented_lookup_accepts_what_the_server_accepts(client, lookup, accepted):
    assert documented(client, "Lookup").is_valid(lookup) is accepted
    try:
        validate(Lookup, lookup)
        served = True
    except OkpayError:
        served = False
    assert served is accepted


def test_a_transfer_documents_each_answer_and_leaves_out_what_it_may_omit(client, seeded):
    document = body_of(client.get("/openapi.json"))
    post = document["paths"]["/transfers"]["post"]
    waiting = post["responses"]["202"]["content"]["application/json"]["example"]
    completed = post["responses"]["201"]["content"]["application/json"]["example"]
    assert (waiting["status"], completed["status"]) == ("requires_confirmation", "completed")
    assert "requires_confirmation" in post["responses"]["202"]["description"]
    assert documented(client, "Transfer").is_valid(waiting) and documented(client, "Transfer").is_valid(completed)
    transfer = document["components"]["schemas"]["Transfer"]
    assert {"note", "expires_at", "attempts_left", "transaction_id"} & set(transfer["required"]) == set()
    resend = document["paths"]["/transfers/{transfer_id}/resend"]["post"]["responses"]["202"]
    assert resend["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CodeResent"}

    # a waiting transfer, resent, read and canceled: every reply is checked against the document
    payer, headers = funded(client)
    payee, _ = verified(name="李四")
    sent = send(client, headers, payee, 150_000)
    assert sent.status_code == 202 and "transaction_id" not in body_of(sent)
    transfer_id = body_of(sent)["transfer_id"]
    clock.set_test_clock(clock.now() + timedelta(seconds=61))  # one code per 60 s
    resent = post_json(client, f"/transfers/{transfer_id}/resend", {}, signed_in(payer))
    assert resent.status_code == 202 and body_of(resent) == {"status": "sent"}
    canceled = post_json(client, f"/transfers/{transfer_id}/cancel", {}, signed_in(payer))
    assert body_of(canceled)["status"] == "canceled" and "expires_at" not in body_of(canceled)
