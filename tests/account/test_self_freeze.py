"""A user freezing their own account and lifting it (contract v1.2, section 11): POST /me/freeze,
POST /auth/freeze + /auth/freeze/confirm (signed out, by code), POST /me/unfreeze/start and
POST /me/unfreeze (check order, the re-authentication budget), and payments racing a user's freeze."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from chalicelib.adapters import clock
from chalicelib.services.account import freeze_requests, freezes, self_freeze
from chalicelib.services.identity import sessions
from chalicelib.services.wallet import money_out
from chalicelib.store.audit import events_of
from chalicelib.store.codes import Code
from chalicelib.store.users import Claim, email_claim, get_user, phone_claim
from chalicelib.store.wallet import LedgerEntry
from tests.helpers.clock import move_clock
from tests.helpers.codes import codes_sent, last_code
from tests.helpers.freezes import frozen_by_agent, signed_in_again
from tests.helpers.http import assert_error, auth, body_of, post_json
from tests.helpers.outbox import messages, notices
from tests.helpers.parallel import run_together
from tests.helpers.support import customer
from tests.helpers.users import OTHER_PASSWORD, PASSWORD, make_user, signed_in
from tests.helpers.wallet import CAFE, balances


def _payment(amount: int = 1_000) -> dict:
    return {"merchant_id": CAFE, "amount": amount, "currency": "CNY", "order_reference": uuid.uuid4().hex}


def _pay(client, headers, amount: int = 1_000):
    return post_json(client, "/payments", _payment(amount), {**headers, "Idempotency-Key": uuid.uuid4().hex})


def _claims(user) -> None:
    """make_user stores no claims: let the phone and email find the account, as registration would."""
    Claim(phone_claim(user.phone), user_id=user.user_id, created_at=user.created_at).save()
    Claim(email_claim(user.email), user_id=user.user_id, created_at=user.created_at).save()


def _security_ticket(client, headers) -> dict:
    listed = [
        t for t in body_of(client.get("/support/tickets", headers=headers))["data"] if t["category"] == "security"
    ]
    assert len(listed) == 1, listed
    return body_of(client.get(f"/support/tickets/{listed[0]['ticket_id']}", headers=headers))


def _freeze_me(client, headers, reason="lost_device", note=None):
    body = {"reason": reason} if note is None else {"reason": reason, "note": note}
    return post_json(client, "/me/freeze", body, headers)


def _unfreeze(client, headers, code, *, password=PASSWORD, method="sms"):
    return post_json(client, "/me/unfreeze", {"password": password, "code": code, "method": method}, headers)


# --- POST /me/freeze ---------------------------------------------------------------------------------


def test_freezing_my_account_keeps_this_session_and_ends_every_other(client, seeded):
    user, headers = customer(client)
    tablet = signed_in(user, device_id="tablet")

    response = _freeze_me(client, headers, "lost_device", "  手机在地铁上丢了  ")

    assert response.status_code == 200, response.body
    body = body_of(response)
    assert body["status"] == "frozen" and body["reason"] == "lost_device"
    assert abs((clock.parse_instant(body["frozen_at"]) - clock.now()).total_seconds()) < 60
    assert_error(client.get("/me", headers=tablet), 401, "unauthorized")
    me = body_of(client.get("/me", headers=headers))  # the caller stays signed in
    assert me["status"] == "frozen" and me["freeze"]["by"] == "user" and me["freeze"]["reason"] == "lost_device"
    ticket = _security_ticket(client, headers)
    assert "手机在地铁上丢了" in ticket["messages"][0]["body"]
    (event,) = [e for e in events_of(freezes.audit_subject(user.user_id)) if e.action == "frozen"]
    assert event.detail["note"] == "手机在地铁上丢了" and event.detail["reason"] == "lost_device"
    assert any("frozen" in (m.subject or "") for m in notices(user.email))
    assert_error(_pay(client, headers), 403, "account_frozen")
    assert balances(client, headers)["CNY"] == 100_000


def test_freezing_twice_is_409_and_a_bad_reason_or_long_note_is_400(client, seeded):
    _user, headers = customer(client)
    assert_error(_freeze_me(client, headers, "bored"), 400, "validation_error", field="reason")
    assert_error(_freeze_me(client, headers, "other", "x" * 501), 400, "validation_error", field="note")
    assert _freeze_me(client, headers, "other").status_code == 200
    assert_error(_freeze_me(client, headers, "lost_device"), 409, "already_frozen")


def test_the_note_never_reaches_the_log(client, seeded, log_lines):
    _user, headers = customer(client)
    assert _freeze_me(client, headers, "suspected_fraud", "secret-ish note 7Q2Z").status_code == 200
    assert not any("7Q2Z" in line for line in log_lines())


def test_two_freezes_at_once_one_wins(client, seeded):
    user, headers = customer(client)
    other = signed_in(user, device_id="tablet")
    answers = run_together(lambda: _freeze_me(client, headers), lambda: _freeze_me(client, other))
    assert sorted(a.status_code for a in answers) == [200, 409]


# --- a payment racing the user's freeze ------------------------------------------------------------


def test_a_user_freeze_landing_between_the_pipelines_read_and_write_refuses_the_payment(client, seeded, monkeypatch):
    user, headers = customer(client)
    other_phone = sessions.start_session(user, device_id="other-phone", device_name=None, now=clock.now())
    original = money_out.load_payer
    calls = {"n": 0}

    def load_then_freeze(*args, **kwargs):
        payer = original(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:  # the owner freezes from their other phone at this very moment (POST /me/freeze)
            self_freeze.freeze_own(
                get_user(user.user_id), "lost_device", None, session_id=other_phone.session_id, now=clock.now()
            )
        return payer

    monkeypatch.setattr(money_out, "load_payer", load_then_freeze)

    assert_error(_pay(client, headers), 403, "account_frozen")

    monkeypatch.undo()
    assert calls["n"] == 2
    assert [e for e in LedgerEntry.query(f"user#{user.user_id}") if e.direction == "debit"] == []
    assert balances(client, auth(other_phone.access_token))["CNY"] == 100_000


def test_a_parallel_burst_of_payments_and_a_users_freeze_never_debit_after_it(client, seeded):
    user, headers = customer(client)
    freezer = signed_in(user, device_id="other-phone")
    burst = [lambda: _pay(client, headers) for _ in range(8)]

    answers = run_together(*burst[:4], lambda: _freeze_me(client, freezer), *burst[4:])

    frozen = answers[4]
    assert frozen.status_code == 200, frozen.body
    others = [a for i, a in enumerate(answers) if i != 4]
    paid = [body_of(a)["transaction_id"] for a in others if a.status_code == 201]
    refused = [a for a in others if a.status_code != 201]
    # A payment either completed before the freeze, or is refused: as frozen, or because the freeze
    # revoked its session (this device was not the freezing one).
    for answer in refused:
        assert (answer.status_code, body_of(answer)["error"]["code"]) in {
            (403, "account_frozen"),
            (401, "unauthorized"),
        }, answer.body
    fresh = signed_in_again(user)
    assert balances(client, fresh)["CNY"] == 100_000 - 1_000 * len(paid)
    debits = {e.transaction_id for e in LedgerEntry.query(f"user#{user.user_id}") if e.direction == "debit"}
    assert debits == set(paid)
    text = "\n".join(m["body"] for m in _security_ticket(client, fresh)["messages"])
    assert all(transaction_id in text for transaction_id in paid)
    assert_error(_pay(client, freezer), 403, "account_frozen")


# --- POST /auth/freeze, /auth/freeze/confirm -------------------------------------------------------


def test_a_freeze_code_goes_to_each_verified_contact_and_freezes_with_every_session_revoked(client, seeded):
    user, headers = customer(client)
    _claims(user)

    sent = post_json(client, "/auth/freeze", {"login": user.phone})

    assert sent.status_code == 202 and body_of(sent) == {"status": "sent"}
    (sms,) = [m for m in messages(user.phone, "sms") if "freeze" in m.body]
    assert "http" not in sms.body and "://" not in sms.body  # a code, not a link
    code = last_code(user.phone)
    assert last_code(user.email) == code  # one code, to each verified contact
    confirm = post_json(client, "/auth/freeze/confirm", {"login": user.email, "code": code})
    assert confirm.status_code == 200, confirm.body
    assert body_of(confirm) == {"status": "frozen"}
    assert_error(client.get("/me", headers=headers), 401, "unauthorized")
    fresh = signed_in_again(user)
    me = body_of(client.get("/me", headers=fresh))
    assert me["status"] == "frozen" and me["freeze"]["reason"] == "lost_device" and me["freeze"]["by"] == "user"
    assert _security_ticket(client, fresh)["category"] == "security"
    # The code is used: once more is invalid.
    again = post_json(client, "/auth/freeze/confirm", {"login": user.phone, "code": code})
    assert_error(again, 422, "invalid_code")


def test_an_unverified_email_gets_no_code(client, seeded):
    user, _ = customer(client, email_verified=False)
    Claim(phone_claim(user.phone), user_id=user.user_id, created_at=user.created_at).save()
    assert post_json(client, "/auth/freeze", {"login": user.phone}).status_code == 202
    assert codes_sent(user.phone) and not codes_sent(user.email)


def test_an_unknown_login_is_a_silent_202_in_the_same_time(client, seeded):
    import time

    started = time.monotonic()
    response = post_json(client, "/auth/freeze", {"login": "+8613912345678"})
    took = time.monotonic() - started
    assert response.status_code == 202 and body_of(response) == {"status": "sent"}
    assert took >= freeze_requests.REQUEST_MIN_SECONDS
    assert messages("+8613912345678") == []
    for login in ("nobody@example.com", "not a login"):
        assert body_of(post_json(client, "/auth/freeze", {"login": login})) == {"status": "sent"}
        assert messages(login) == []
    assert_error(
        post_json(client, "/auth/freeze/confirm", {"login": "+8613912345678", "code": "123456"}), 422, "invalid_code"
    )


def test_the_sms_limits_quietly_hold_back_a_second_code_within_60_seconds(client, seeded, frozen_clock):
    user = make_user()
    _claims(user)
    assert post_json(client, "/auth/freeze", {"login": user.phone}).status_code == 202
    assert post_json(client, "/auth/freeze", {"login": user.phone}).status_code == 202
    assert len(codes_sent(user.phone)) == 1 and len(codes_sent(user.email)) == 1  # nothing more, quietly
    move_clock(61)
    assert post_json(client, "/auth/freeze", {"login": user.phone}).status_code == 202
    assert len(codes_sent(user.phone)) == 2


def test_a_wrong_freeze_code_is_422_with_attempts_left_and_the_fifth_voids_it(client, seeded):
    user = make_user()
    _claims(user)
    post_json(client, "/auth/freeze", {"login": user.phone})
    code = last_code(user.phone)
    wrong = "000000" if code != "000000" else "111111"
    lefts = []
    for _ in range(5):
        error = assert_error(
            post_json(client, "/auth/freeze/confirm", {"login": user.phone, "code": wrong}), 422, "invalid_code"
        )
        lefts.append(error["details"]["attempts_left"])
    assert lefts == [4, 3, 2, 1, 0]
    assert_error(post_json(client, "/auth/freeze/confirm", {"login": user.phone, "code": code}), 422, "invalid_code")
    assert get_user(user.user_id).status == "active"


def test_parallel_wrong_freeze_codes_are_compared_at_most_5_times_and_a_right_one_passes_once(
    client, seeded, monkeypatch
):
    from chalicelib.services.account import freeze_requests as requests_module
    from chalicelib.services.identity import one_time_codes

    user = make_user()
    _claims(user)
    post_json(client, "/auth/freeze", {"login": user.phone})
    code = last_code(user.phone)
    wrong = "000000" if code != "000000" else "111111"
    compared = {"n": 0}
    original = one_time_codes._hash

    def counting(code_id, text):  # the hash of a presented code: one per comparison
        compared["n"] += 1
        return original(code_id, text)

    monkeypatch.setattr(one_time_codes, "_hash", counting)
    answers = run_together(
        *[lambda: post_json(client, "/auth/freeze/confirm", {"login": user.phone, "code": wrong}) for _ in range(12)]
    )
    assert all(a.status_code == 422 for a in answers)
    assert compared["n"] == 5
    assert int(Code.get(requests_module.freeze_code_id(user.user_id)).attempts) == 5
    # The right one too is refused now: the code is void.
    assert_error(post_json(client, "/auth/freeze/confirm", {"login": user.phone, "code": code}), 422, "invalid_code")
    assert get_user(user.user_id).status == "active"

    # A new code after expiry: the right one, sent 6 times at once, passes once.
    move_clock(timedelta(minutes=16))
    post_json(client, "/auth/freeze", {"login": user.phone})
    fresh_code = last_code(user.phone)
    answers = run_together(
        *[
            lambda: post_json(client, "/auth/freeze/confirm", {"login": user.phone, "code": fresh_code})
            for _ in range(6)
        ]
    )
    assert sorted(a.status_code for a in answers) == [200] + [422] * 5
    assert get_user(user.user_id).status == "frozen"


def test_a_freeze_code_for_an_already_frozen_account_still_signs_everyone_out(client, seeded):
    user, headers = customer(client)
    _claims(user)
    assert _freeze_me(client, headers).status_code == 200  # this device kept its session
    post_json(client, "/auth/freeze", {"login": user.phone})
    confirm = post_json(client, "/auth/freeze/confirm", {"login": user.phone, "code": last_code(user.phone)})
    assert confirm.status_code == 200 and body_of(confirm) == {"status": "frozen"}
    assert_error(client.get("/me", headers=headers), 401, "unauthorized")
    assert get_user(user.user_id).freeze_reason == "lost_device"


# --- POST /me/unfreeze/start, /me/unfreeze -----------------------------------------------------------


def test_unfreeze_start_when_not_frozen_is_409_and_sends_nothing(client, seeded):
    user, headers = customer(client)
    assert_error(post_json(client, "/me/unfreeze/start", {}, headers), 409, "not_frozen")
    assert_error(_unfreeze(client, headers, "123456"), 409, "not_frozen")
    assert codes_sent(user.phone) == []


def test_unfreezing_too_early_is_409_with_available_at_on_the_test_clock(client, seeded):
    user, headers = customer(client)
    clock.set_test_clock(clock.parse_instant("2026-11-26T09:00:00+08:00"))
    headers = signed_in(user)
    assert _freeze_me(client, headers).status_code == 200
    move_clock(timedelta(minutes=59))
    headers = signed_in_again(user)  # the access token expired meanwhile
    assert post_json(client, "/me/unfreeze/start", {}, headers).status_code == 202
    code = last_code(user.phone)

    error = assert_error(_unfreeze(client, headers, code), 409, "freeze_too_recent")

    available = clock.parse_instant(error["details"]["available_at"])
    assert available == clock.parse_instant("2026-11-26T10:00:00+08:00")
    assert get_user(user.user_id).status == "frozen"


def test_unfreezing_after_an_hour_with_the_password_and_the_sms_code(client, seeded):
    user, headers = customer(client)
    assert _freeze_me(client, headers).status_code == 200
    move_clock(timedelta(hours=1, minutes=1))
    headers = signed_in_again(user)
    sent = post_json(client, "/me/unfreeze/start", {}, headers)
    assert sent.status_code == 202, sent.body
    assert_error(post_json(client, "/me/unfreeze/start", {}, headers), 429, "rate_limited")  # once per 60 s

    response = _unfreeze(client, headers, last_code(user.phone))

    assert response.status_code == 200, response.body
    assert body_of(response) == {"status": "active"}
    assert body_of(client.get("/me", headers=headers))["status"] == "active"
    assert _pay(client, headers).status_code == 201
    assert any("unfrozen" in (m.subject or "") for m in notices(user.email))


def test_unfreezing_with_a_totp_code(client, seeded):
    import pyotp

    from chalicelib.services.identity import totp

    user, headers = customer(client)
    secret = pyotp.random_base32()
    stored = get_user(user.user_id)
    stored.update(actions=[type(stored).totp_secret.set(totp.seal_secret(user.user_id, secret))])
    assert _freeze_me(client, headers).status_code == 200
    move_clock(timedelta(hours=2))
    headers = signed_in_again(user)
    response = _unfreeze(client, headers, pyotp.TOTP(secret).now(), method="totp")
    assert response.status_code == 200, response.body
    assert get_user(user.user_id).status == "active"


def test_an_agents_freeze_replacing_mine_while_i_unfreeze_is_not_lifted(client, seeded, monkeypatch):
    """Forced interleaving: my checks passed on my own freeze; before my write an agent lifted it and
    froze the account again. My unfreeze is conditioned on the freeze it checked, so it is refused."""
    user, headers = customer(client)
    assert _freeze_me(client, headers).status_code == 200
    move_clock(timedelta(hours=1, minutes=1))
    headers = signed_in_again(user)
    assert post_json(client, "/me/unfreeze/start", {}, headers).status_code == 202
    code = last_code(user.phone)
    agent = make_user(role="agent")
    real_code_right = self_freeze._sms_code_right

    def agent_steps_in(*args, **kwargs):
        right = real_code_right(*args, **kwargs)
        freezes.unfreeze(user.user_id, "checked", freezes.Actor.agent(agent.user_id), clock.now())
        freezes.freeze(user.user_id, "card testing seen", freezes.Actor.agent(agent.user_id), clock.now())
        return right

    monkeypatch.setattr(self_freeze, "_sms_code_right", agent_steps_in)

    assert_error(_unfreeze(client, headers, code), 403, "agent_review_required")
    stored = get_user(user.user_id)
    assert (stored.status, stored.frozen_by) == ("frozen", "agent")


@pytest.mark.parametrize("how", ["agent", "suspected_fraud"])
def test_a_freeze_by_an_agent_or_for_suspected_fraud_needs_an_agents_review(client, seeded, how):
    user, headers = customer(client)
    if how == "agent":
        frozen_by_agent(user)
    else:
        assert _freeze_me(client, headers, "suspected_fraud").status_code == 200
    move_clock(timedelta(hours=3))
    headers = signed_in_again(user)
    # 403 comes before everything else: even too early, or with a wrong password, it is the answer.
    assert_error(_unfreeze(client, headers, "123456", password=OTHER_PASSWORD), 403, "agent_review_required")
    assert get_user(user.user_id).status == "frozen"


def test_wrong_passwords_and_codes_are_422_and_the_fifth_revokes_the_session(client, seeded):
    user, headers = customer(client)
    assert _freeze_me(client, headers).status_code == 200
    move_clock(timedelta(hours=1, minutes=5))
    headers = signed_in_again(user)
    other = signed_in(get_user(user.user_id), device_id="laptop")
    assert post_json(client, "/me/unfreeze/start", {}, headers).status_code == 202
    code = last_code(user.phone)
    wrong = "000000" if code != "000000" else "111111"

    assert_error(_unfreeze(client, headers, code, password=OTHER_PASSWORD), 422, "invalid_password")
    error = assert_error(_unfreeze(client, headers, wrong), 422, "invalid_code")
    assert error["details"]["attempts_left"] == 3
    assert_error(_unfreeze(client, headers, code, password=OTHER_PASSWORD), 422, "invalid_password")
    assert_error(_unfreeze(client, headers, wrong), 422, "invalid_code")
    before = len(notices(user.email))
    assert_error(_unfreeze(client, headers, code, password=OTHER_PASSWORD), 422, "invalid_password")  # the 5th

    assert_error(client.get("/me", headers=headers), 401, "unauthorized")
    assert len(notices(user.email)) == before + 1  # the security notice
    assert client.get("/me", headers=other).status_code == 200  # only that session; sign-in is not locked
    assert get_user(user.user_id).status == "frozen"
    logged = body_of(client.get("/me/security-events", headers=other))["data"]
    (revoked,) = [e for e in logged if e["type"] == "session_revoked_reauth"]
    assert revoked["ip"] == "127.0.0.1" and revoked["device_name"] == "d"  # the session's device
