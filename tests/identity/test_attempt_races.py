"""Attempt caps under concurrency (contract v1.2, section 1), the way a script attacks them: many
guesses in flight at once. Each test counts the comparisons actually made, not only the answers."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.services.identity import one_time_codes
from chalicelib.store.codes import Code
from chalicelib.store.users import Claim, phone_claim
from tests.helpers.auth import login, login_tokens, me, register, register_user, start_registration
from tests.helpers.codes import last_code
from tests.helpers.http import assert_error, auth, body_of, post_json
from tests.helpers.mfa import (
    enable_totp,
    forgot,
    mfa_challenge,
    mfa_verify,
    reset,
    sent_mfa_code,
    set_mfa,
    totp_code,
    wrong,
)
from tests.helpers.outbox import notice_texts
from tests.helpers.parallel import run_together
from tests.helpers.users import PASSWORD, new_email, new_phone

NEW_PASSWORD = "Saffron-Kettle-Drift-88"


class Comparisons:
    """Counts the calls of a comparison function, from any thread."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
        return self.original(*args, **kwargs)


@pytest.fixture
def code_comparisons(monkeypatch):
    counter = Comparisons(one_time_codes.hmac.compare_digest)
    # Only the codes module's comparisons (the hmac module itself serves sessions and cursors too).
    monkeypatch.setattr(one_time_codes, "hmac", SimpleNamespace(compare_digest=counter))
    return counter


def _statuses(responses) -> list[int]:
    return sorted(response.status_code for response in responses)


# --- one-time codes: at most 5 comparisons per code --------------------------------------------


def test_registration_codes_are_compared_at_most_five_times_in_a_burst(client, code_comparisons):
    phone = new_phone()
    assert start_registration(client, phone).status_code == 202
    right = last_code(phone)
    calls = [lambda i=i: register(client, phone=phone, code=wrong(right), email=new_email(f"w{i}")) for i in range(19)]
    calls.append(lambda: register(client, phone=phone, code=right, email=new_email("right")))
    responses = run_together(*calls)
    assert code_comparisons.calls <= 5
    created = [r for r in responses if r.status_code == 201]
    assert len(created) <= 1
    assert all(r.status_code in (201, 422) for r in responses)
    owner = Claim.get(phone_claim(phone)).user_id if Claim.count(phone_claim(phone)) else None
    assert (owner is not None) == bool(created)
    # Whatever happened, the code is spent: the right one never works after the burst.
    assert_error(register(client, phone=phone, code=right, email=new_email("late")), 422, "invalid_code")
    assert code_comparisons.calls <= 5


def test_the_right_registration_code_among_four_wrong_ones_creates_the_account(client, code_comparisons):
    phone = new_phone()
    start_registration(client, phone)
    right = last_code(phone)
    calls = [lambda i=i: register(client, phone=phone, code=wrong(right), email=new_email(f"w{i}")) for i in range(4)]
    calls.append(lambda: register(client, phone=phone, code=right, email=new_email("right")))
    responses = run_together(*calls)
    assert responses[-1].status_code == 201
    assert _statuses(responses[:-1]) == [422] * 4 and code_comparisons.calls == 5


def test_contact_codes_are_compared_at_most_five_times_in_a_burst(client, code_comparisons):
    account = register_user(client, verify_email=False)
    right = last_code(account["email"])
    headers = auth(account["access_token"])

    def verify(code):
        return post_json(client, "/me/contacts/verify", {"channel": "email", "code": code}, headers)

    before = code_comparisons.calls
    responses = run_together(*[lambda: verify(wrong(right)) for _ in range(19)], lambda: verify(right))
    assert code_comparisons.calls - before <= 5
    assert all(r.status_code in (200, 422) for r in responses)
    verified = body_of(me(client, account["access_token"]))["email_verified"]
    assert verified == any(r.status_code == 200 for r in responses)


def test_reset_codes_are_compared_at_most_five_times_in_a_burst(client, user, code_comparisons, frozen_clock):
    forgot(client, user["phone"])
    right = last_code(user["phone"])
    calls = [lambda: reset(client, user["phone"], wrong(right), NEW_PASSWORD) for _ in range(19)]
    calls.append(lambda: reset(client, user["phone"], right, NEW_PASSWORD))
    responses = run_together(*calls)
    assert code_comparisons.calls <= 5
    # The login lockout counts every attempt first: past five in flight the rest are refused as locked.
    assert all(r.status_code in (204, 422, 423) for r in responses)
    # Five attempts pass the lockout; a right reset among them is not a failure and gives its place
    # back (only while it was the last counted), which can let one more through.
    reset_done = sum(r.status_code == 204 for r in responses)
    assert reset_done <= 1
    assert sum(r.status_code == 423 for r in responses) >= 15 - reset_done


def test_mfa_codes_are_compared_at_most_five_times_in_a_burst(client, user, code_comparisons, frozen_clock):
    set_mfa(client, user, sms=True)
    token = mfa_challenge(client, user["phone"])["mfa_token"]
    right = sent_mfa_code(client, token, "sms", user["phone"])
    before = code_comparisons.calls
    calls = [lambda: mfa_verify(client, token, "sms", wrong(right)) for _ in range(19)]
    calls.append(lambda: mfa_verify(client, token, "sms", right))
    responses = run_together(*calls)
    assert code_comparisons.calls - before <= 5
    assert sum(r.status_code == 200 for r in responses) <= 1
    assert all(r.status_code in (200, 422, 423) for r in responses)


def test_a_code_whose_attempts_are_spent_is_never_compared_again(client, code_comparisons):
    phone = new_phone()
    start_registration(client, phone)
    right = last_code(phone)
    for i in range(5):
        response = register(client, phone=phone, code=wrong(right), email=new_email(f"s{i}"))
        assert assert_error(response, 422, "invalid_code")["details"] == {"attempts_left": 4 - i}
    assert_error(register(client, phone=phone, code=right, email=new_email("r")), 422, "invalid_code")
    assert code_comparisons.calls == 5
    assert int(Code.get(f"register#{phone}").attempts) == 5


# --- the login lockout: counted before the password --------------------------------------------


def test_a_parallel_burst_of_guesses_is_locked_like_a_serial_one(client, user, monkeypatch, frozen_clock):
    from chalicelib.services.identity import login as login_service

    checks = Comparisons(login_service.verify_password)
    monkeypatch.setattr(login_service, "verify_password", checks)
    guesses = [lambda i=i: login(client, user["phone"], f"Wrong-Guess-{i}-Password") for i in range(12)]
    responses = run_together(*guesses, lambda: login(client, user["phone"]))
    assert all(r.status_code in (401, 423) for r in responses[:-1])
    assert responses[-1].status_code in (200, 423)  # among the first five, or locked like the rest
    # Every request was either checked or refused as locked; five checks per streak, and only a
    # completed sign-in (the right password among the first five) starts a new streak.
    signed_in = int(responses[-1].status_code == 200)
    assert checks.calls <= 5 * (1 + signed_in)
    assert _statuses(responses).count(423) == len(responses) - checks.calls


def test_twelve_wrong_guesses_at_once_leave_five_401s_and_a_lock(client, user, frozen_clock):
    responses = run_together(*[lambda i=i: login(client, user["phone"], f"Wrong-{i}-Pass-Word") for i in range(12)])
    assert _statuses(responses) == [401] * 5 + [423] * 7
    assert all(int(r.headers["Retry-After"]) >= 1 for r in responses if r.status_code == 423)
    assert_error(login(client, user["phone"]), 423, "account_locked")


def test_a_right_password_with_an_mfa_step_does_not_count_as_a_failure(client, user):
    set_mfa(client, user, sms=True)
    for _ in range(6):
        assert body_of(login(client, user["phone"]))["mfa_required"] is True
    for i in range(4):
        assert_error(login(client, user["phone"], f"Wrong-{i}-Pass-Word"), 401, "invalid_credentials")
    assert body_of(login(client, user["phone"]))["mfa_required"] is True  # 4 failures: not locked


def test_the_resets_totp_is_counted_before_it_is_checked(client, user, monkeypatch, frozen_clock):
    totp = enable_totp(client, user)
    forgot(client, user["phone"])
    right = last_code(user["phone"])
    from chalicelib.services.identity import password_reset

    checks = Comparisons(password_reset.totp.accept_totp)
    monkeypatch.setattr(password_reset.totp, "accept_totp", checks)
    second = {"method": "totp", "code": wrong(totp_code(totp["secret"], totp["step"]))}
    responses = run_together(*[lambda: reset(client, user["phone"], right, NEW_PASSWORD, second) for _ in range(12)])
    assert checks.calls <= 5
    assert _statuses(responses).count(423) >= 7
    assert login(client, user["phone"], NEW_PASSWORD).status_code == 423  # locked, and not reset
    assert all(r.status_code in (422, 423) for r in responses)


# --- re-authentication: the 5th wrong one in a session revokes it --------------------------------


def _change_password(client, account, current):
    body = {"current_password": current, "new_password": NEW_PASSWORD}
    return post_json(client, "/me/password", body, auth(account["access_token"]))


def test_the_fifth_wrong_reauth_revokes_the_session_and_tells_both_contacts(client, user):
    for _ in range(4):
        error = assert_error(_change_password(client, user, "Not-The-Password-1"), 422, "invalid_password")
        assert "details" not in error
        assert me(client, user["access_token"]).status_code == 200
    # A right one in between does not reset the count (v1.2).
    assert set_mfa(client, user).status_code == 200  # PUT /me/mfa checks the password: right
    assert_error(_change_password(client, user, "Not-The-Password-1"), 422, "invalid_password")
    assert_error(me(client, user["access_token"]), 401, "unauthorized")
    assert_error(_change_password(client, user, PASSWORD), 401, "unauthorized")
    assert "5 wrong" in notice_texts(user["phone"]) and "5 wrong" in notice_texts(user["email"])
    # The owner's sign-in is never locked by re-auth failures; the password did not change.
    assert login(client, user["phone"]).status_code == 200


def test_a_stolen_session_guessing_in_parallel_gets_five_comparisons(client, user, monkeypatch):
    from chalicelib.services.identity import reauth

    checks = Comparisons(reauth.verify_password)
    monkeypatch.setattr(reauth, "verify_password", checks)
    guesses = [lambda i=i: _change_password(client, user, f"Guess-{i}-Not-It") for i in range(25)]
    responses = run_together(*guesses)
    assert checks.calls == 5
    assert _statuses(responses).count(422) == 5
    assert all(r.status_code in (401, 422, 429) for r in responses)
    assert_error(_change_password(client, user, PASSWORD), 401, "unauthorized")  # the right one, too late
    assert checks.calls == 5
    other = login_tokens(client, user["phone"])  # the owner signs in with the unchanged password
    assert me(client, other["access_token"]).status_code == 200


def test_reauth_failures_count_per_session_not_per_account(client, user):
    other = login_tokens(client, user["phone"], device_id="device-2")
    for _ in range(4):
        assert_error(_change_password(client, user, "Not-The-Password-1"), 422, "invalid_password")
    for _ in range(4):
        assert_error(_change_password(client, other, "Not-The-Password-1"), 422, "invalid_password")
    assert me(client, user["access_token"]).status_code == 200
    assert me(client, other["access_token"]).status_code == 200


def test_wrong_totp_codes_on_signed_in_routes_revoke_the_session_too(client, user):
    totp = enable_totp(client, user)
    code = totp_code(totp["secret"], totp["step"])
    headers = auth(user["access_token"])
    lefts = []
    for _ in range(5):
        response = post_json(client, "/me/mfa/totp/disable", {"password": PASSWORD, "code": wrong(code)}, headers)
        lefts.append(assert_error(response, 422, "invalid_code")["details"]["attempts_left"])
    assert lefts == [4, 3, 2, 1, 0]
    assert_error(me(client, user["access_token"]), 401, "unauthorized")
    assert body_of(login(client, user["phone"]))["mfa_required"] is True  # the sign-in is not locked


def test_a_new_code_racing_guesses_never_hands_back_spent_tries(stage, monkeypatch):
    # Forced interleaving: two guesses are counted between the resend's read and its write.
    from datetime import timedelta

    from chalicelib.adapters import clock

    now = clock.now()
    code_id = f"register#{new_phone()}"
    one_time_codes.issue(code_id, lifetime=timedelta(minutes=10), now=now)
    for _ in range(2):
        one_time_codes.reserve_attempt(code_id, now)
    original = one_time_codes._live
    raced = []

    def read_then_guesses_land(code_id_, now_):
        record = original(code_id_, now_)
        if not raced:
            raced.append(True)
            for _ in range(2):
                one_time_codes.reserve_attempt(code_id, now)
        return record

    monkeypatch.setattr(one_time_codes, "_live", read_then_guesses_land)
    assert one_time_codes.issue(code_id, lifetime=timedelta(minutes=10), now=now) is not None
    assert int(Code.get(code_id, consistent_read=True).attempts) == 4  # not the 2 read before
