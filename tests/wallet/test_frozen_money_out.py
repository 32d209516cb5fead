"""A frozen account (contract v1.2, section 11): every way money leaves, and every security change, is
`403 account_frozen` right after validation (before kyc_required and before a password is compared),
also when the freeze lands between the money-out pipeline's read and its transaction, and under a
parallel burst."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.adapters import clock
from chalicelib.services.account import freezes
from chalicelib.services.wallet import money_out, payments
from chalicelib.store.kyc import KycRecord
from chalicelib.store.users import Claim, get_user
from chalicelib.store.wallet import LedgerEntry, TransactionRecord
from tests.helpers.freezes import frozen_by_agent, signed_in_again
from tests.helpers.http import assert_error, body_of, post_json, put_json
from tests.helpers.parallel import run_together
from tests.helpers.support import customer
from tests.helpers.users import OTHER_PASSWORD, make_user, signed_in
from tests.helpers.wallet import CAFE, GOOD_CARD, add_card, balances, top_up

WRONG = OTHER_PASSWORD  # a wrong password: a frozen account answers 403 before comparing it


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _card_of(client, headers) -> str:
    return body_of(client.get("/me/funding-sources", headers=headers))["data"][0]["funding_source_id"]


def _payment(amount: int = 1_000) -> dict:
    return {"merchant_id": CAFE, "amount": amount, "currency": "CNY", "order_reference": uuid.uuid4().hex}


# Each: (method, path, body(payee_id, card_id)); the money routes carry an Idempotency-Key.
REFUSED = {
    "payment": ("POST", "/payments", lambda payee, card: _payment()),
    "withdrawal": (
        "POST",
        "/me/withdrawals",
        lambda payee, card: {"funding_source_id": card, "amount": 1_000, "currency": "CNY"},
    ),
    "conversion": (
        "POST",
        "/me/conversions",
        lambda payee, card: {"from_currency": "CNY", "to_currency": "USD", "amount": 10_000},
    ),
    "transfer": (
        "POST",
        "/transfers",
        lambda payee, card: {"recipient": {"user_id": payee}, "amount": 1_000, "currency": "CNY"},
    ),
    "new card": (
        "POST",
        "/me/funding-sources",
        lambda payee, card: {"type": "bank_card", "card_number": GOOD_CARD, "holder_name": "张三", "password": WRONG},
    ),
    "contact change": (
        "POST",
        "/me/contacts/change",
        lambda payee, card: {"channel": "email", "value": "new.address@example.com", "password": WRONG},
    ),
    "totp begin": ("POST", "/me/mfa/totp", lambda payee, card: {"password": WRONG}),
    "totp activate": ("POST", "/me/mfa/totp/activate", lambda payee, card: {"code": "123456"}),
    "totp disable": ("POST", "/me/mfa/totp/disable", lambda payee, card: {"password": WRONG, "code": "123456"}),
    "mfa factors": ("PUT", "/me/mfa", lambda payee, card: {"password": WRONG, "sms": True}),
    "recovery codes": ("POST", "/me/mfa/recovery-codes", lambda payee, card: {"password": WRONG}),
    "close": ("POST", "/me/close", lambda payee, card: {"password": WRONG}),
}
MONEY = ("payment", "withdrawal", "conversion", "transfer")


def _send(client, method, path, body, headers):
    if method == "PUT":
        return put_json(client, path, body, headers)
    return post_json(client, path, body, {**headers, **_key()})


@pytest.mark.parametrize("route", list(REFUSED))
def test_every_way_out_is_403_account_frozen_before_the_password_is_compared(client, seeded, route):
    user, headers = customer(client)
    card = _card_of(client, headers)
    payee = make_user()
    frozen_by_agent(user)
    headers = signed_in_again(user)
    method, path, body = REFUSED[route]

    assert_error(_send(client, method, path, body(payee.user_id, card), headers), 403, "account_frozen")

    assert balances(client, headers)["CNY"] == 100_000
    assert client.get("/me", headers=headers).status_code == 200  # still signed in
    assert get_user(user.user_id).status == "frozen"


@pytest.mark.parametrize("route", MONEY)
def test_frozen_comes_before_kyc_required(client, seeded, route):
    user = make_user()  # never verified: level 0 would be 403 kyc_required
    headers = signed_in(user)
    card = add_card(client, headers)
    frozen_by_agent(user)
    headers = signed_in_again(user)
    method, path, body = REFUSED[route]
    assert_error(_send(client, method, path, body(make_user().user_id, card), headers), 403, "account_frozen")


@pytest.mark.parametrize(
    ("route", "broken", "field"),
    [
        ("payment", {"amount": 0}, "amount"),
        ("withdrawal", {"ammount": 5}, "ammount"),
        ("conversion", {"to_currency": "XYZ"}, "to_currency"),
        ("transfer", {"amount": 1.5}, "amount"),
        ("new card", {"card_number": "4000000000000001"}, "card_number"),  # fails Luhn
    ],
)
def test_a_body_that_fails_validation_is_still_400(client, seeded, route, broken, field):
    user, headers = customer(client)
    card = _card_of(client, headers)
    frozen_by_agent(user)
    headers = signed_in_again(user)
    method, path, body = REFUSED[route]
    response = _send(client, method, path, {**body(make_user().user_id, card), **broken}, headers)
    assert_error(response, 400, "validation_error", field=field)


def test_the_first_verification_of_the_registration_email_still_works_but_a_change_does_not(client, seeded):
    from tests.helpers.auth import register_user
    from tests.helpers.codes import last_code

    account = register_user(client, verify_email=False)
    user = get_user(account["user_id"])
    frozen_by_agent(user)
    headers = signed_in_again(user)
    code = last_code(account["email"])
    verify = post_json(client, "/me/contacts/verify", {"channel": "email", "code": code}, headers)
    assert verify.status_code == 200, verify.body
    assert get_user(user.user_id).email_verified is True


def test_a_contact_change_started_before_the_freeze_does_not_switch_while_frozen(client, seeded):
    from tests.helpers.codes import last_code
    from tests.helpers.users import PASSWORD

    user, headers = customer(client)
    change = {"channel": "email", "value": "new.owner@example.com", "password": PASSWORD}
    assert post_json(client, "/me/contacts/change", change, headers).status_code == 202
    frozen_by_agent(user)
    headers = signed_in_again(user)
    code = last_code("new.owner@example.com")
    response = post_json(client, "/me/contacts/verify", {"channel": "email", "code": code}, headers)
    assert_error(response, 403, "account_frozen")
    assert get_user(user.user_id).email == user.email


def test_a_stored_refusal_replays_and_a_new_key_works_after_the_unfreeze(client, seeded):
    user, headers = customer(client)
    frozen_by_agent(user)
    headers = signed_in_again(user)
    order = _payment()
    first = post_json(client, "/payments", order, {**headers, "Idempotency-Key": "k1"})
    assert_error(first, 403, "account_frozen")
    again = post_json(client, "/payments", order, {**headers, "Idempotency-Key": "k1"})
    assert again.status_code == 403 and again.headers.get("Idempotent-Replayed") == "true"
    agent = make_user(role="agent")
    freezes.unfreeze(user.user_id, "verified", freezes.Actor.agent(agent.user_id), clock.now())
    assert post_json(client, "/payments", order, {**headers, "Idempotency-Key": "k2"}).status_code == 201


# --- a freeze racing money out ---------------------------------------------------------------------


def _freeze_after_the_read(monkeypatch, user):
    """Make the freeze commit right after the pipeline's first read (before its TransactWriteItems)."""
    original = money_out.load_payer
    calls = {"n": 0}

    def load_then_freeze(*args, **kwargs):
        payer = original(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            frozen_by_agent(user)
        return payer

    monkeypatch.setattr(money_out, "load_payer", load_then_freeze)
    return calls


@pytest.mark.parametrize("route", MONEY)
def test_a_freeze_landing_between_the_read_and_the_write_refuses_the_debit(client, seeded, monkeypatch, route):
    user, headers = customer(client)
    card = _card_of(client, headers)
    payee = make_user()
    KycRecord(payee.user_id, "current", status="approved", level=2, approved_real_name="李四").save()
    calls = _freeze_after_the_read(monkeypatch, user)
    method, path, body = REFUSED[route]

    response = _send(client, method, path, body(payee.user_id, card), headers)

    assert_error(response, 403, "account_frozen")
    assert calls["n"] == 2  # the refused transaction was read again, and the refusal that now holds answered
    monkeypatch.undo()
    fresh = signed_in_again(user)
    assert balances(client, fresh)["CNY"] == 100_000
    debits = [e for e in LedgerEntry.query(f"user#{user.user_id}") if e.direction == "debit"]
    assert debits == []


def test_a_transfer_cannot_start_waiting_for_its_code_once_the_freeze_landed(client, seeded, monkeypatch):
    user, headers = customer(client, amount=500_000)
    payee = make_user()
    _freeze_after_the_read(monkeypatch, user)
    body = {"recipient": {"user_id": payee.user_id}, "amount": 200_000, "currency": "CNY"}  # ≥ 1,000 CNY: a code

    assert_error(post_json(client, "/transfers", body, {**headers, **_key()}), 403, "account_frozen")

    monkeypatch.undo()
    waiting = [r for r in TransactionRecord.scan() if r.kind == "transfer" and r.payer == user.user_id]
    assert waiting == []  # nothing left waiting for a code on a frozen account


def test_a_payment_committed_between_the_tickets_read_and_the_freeze_is_added_to_the_ticket(
    client, seeded, monkeypatch
):
    user, _headers = customer(client)
    original = freezes._ticket_body
    paid = {}

    def read_then_pay(*args, **kwargs):
        body = original(*args, **kwargs)
        payment = payments.Payment(user.user_id, "CNY", 2_500, merchant_id=CAFE, order_reference="raced", locale="en")
        paid["id"] = payments.pay(payment, clock.now())["transaction_id"]
        return body

    monkeypatch.setattr(freezes, "_ticket_body", read_then_pay)
    ticket_id = frozen_by_agent(user)["ticket_id"]

    fresh = signed_in_again(user)
    ticket = body_of(client.get(f"/support/tickets/{ticket_id}", headers=fresh))
    assert paid["id"] in "\n".join(message["body"] for message in ticket["messages"])
    assert balances(client, fresh)["CNY"] == 100_000 - 2_500


def test_a_parallel_burst_of_payments_and_a_freeze_never_both_debit_after_it(client, seeded):
    user, headers = customer(client)
    agent = make_user(role="agent")
    agent_headers = signed_in(agent)
    bursts = [lambda: post_json(client, "/payments", _payment(1_000), {**headers, **_key()}) for _ in range(8)]
    freeze = lambda: post_json(client, f"/admin/users/{user.user_id}/freeze", {"reason": "burst"}, agent_headers)  # noqa: E731

    answers = run_together(*bursts[:4], freeze, *bursts[4:])

    frozen_answer = answers[4]
    assert frozen_answer.status_code == 200, frozen_answer.body
    paid = [body_of(a)["transaction_id"] for i, a in enumerate(answers) if i != 4 and a.status_code == 201]
    refused = [a for i, a in enumerate(answers) if i != 4 and a.status_code != 201]
    # Refused by the frozen account, or (arriving after the freeze's write) by its revoked session.
    refusals = {(403, "account_frozen"), (401, "unauthorized")}
    assert all((a.status_code, body_of(a)["error"]["code"]) in refusals for a in refused), [
        (a.status_code, a.body) for a in refused
    ]
    fresh = signed_in_again(user)
    assert balances(client, fresh)["CNY"] == 100_000 - 1_000 * len(paid)
    debits = {e.transaction_id for e in LedgerEntry.query(f"user#{user.user_id}") if e.direction == "debit"}
    assert debits == set(paid)
    # Every debit that got through committed before the freeze: the ticket names each one.
    ticket = body_of(client.get(f"/support/tickets/{body_of(frozen_answer)['ticket_id']}", headers=fresh))
    text = "\n".join(message["body"] for message in ticket["messages"])
    assert all(transaction_id in text for transaction_id in paid)
    # And after it, nothing more leaves.
    assert_error(post_json(client, "/payments", _payment(), {**fresh, **_key()}), 403, "account_frozen")


def test_money_sent_to_a_frozen_account_arrives_and_a_closed_one_is_not_found(client, seeded):
    frozen, _frozen_headers = customer(client)
    frozen_by_agent(frozen)
    _sender, sender_headers = customer(client)
    Claim(f"phone#{frozen.phone}", user_id=frozen.user_id, created_at=frozen.created_at).save()

    by_id = {"recipient": {"user_id": frozen.user_id}, "amount": 5_000, "currency": "CNY"}
    assert post_json(client, "/transfers", by_id, {**sender_headers, **_key()}).status_code == 201
    lookup = post_json(client, "/recipients/lookup", {"phone": frozen.phone}, sender_headers)
    assert lookup.status_code == 200 and body_of(lookup)["user_id"] == frozen.user_id
    assert balances(client, signed_in_again(frozen))["CNY"] == 105_000

    closed = make_user(status="closed")
    to_closed = {"recipient": {"user_id": closed.user_id}, "amount": 5_000, "currency": "CNY"}
    assert_error(post_json(client, "/transfers", to_closed, {**sender_headers, **_key()}), 404, "recipient_not_found")


def test_top_ups_still_work_while_frozen(client, seeded):
    user, headers = customer(client)
    card = _card_of(client, headers)
    frozen_by_agent(user)
    headers = signed_in_again(user)
    assert top_up(client, headers, card, 7_000).status_code == 201
    assert balances(client, headers)["CNY"] == 107_000
