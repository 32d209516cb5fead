"""Second factors: TOTP enrolment and sign-in, recovery codes, SMS and email codes (/me/mfa*, /auth/mfa/*)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from tests.helpers.auth import login, me, register_user
from tests.helpers.clock import move_clock
from tests.helpers.codes import last_code
from tests.helpers.http import assert_error, auth, body_of, post_json
from tests.helpers.mfa import (
    activate_totp,
    begin_totp,
    enable_totp,
    forgot,
    mfa_challenge,
    mfa_send,
    mfa_verify,
    reset,
    sent_mfa_code,
    set_mfa,
    steady_step,
    totp_code,
    wrong,
)
from tests.helpers.outbox import messages, moto_emails, moto_sms, notice_texts
from tests.helpers.parallel import run_together
from tests.helpers.users import PASSWORD

TOKEN_KEYS = {"user_id", "access_token", "refresh_token", "token_type", "expires_in", "session_id"}


def assert_tokens(response, user=None) -> dict:
    assert response.status_code == 200, (response.status_code, response.body)
    body = body_of(response)
    assert set(body) == TOKEN_KEYS, body
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 900
    if user is not None:
        assert body["user_id"] == user["user_id"]
    return body


# --- TOTP enrolment ---------------------------------------------------------------------------


def test_totp_enrolment_with_a_wrong_password_is_422_not_401(client, user):
    assert_error(begin_totp(client, user, "Not-The-Password-1"), 422, "invalid_password")
    # the session is fine: a re-auth failure is not a sign-in failure
    assert me(client, user["access_token"]).status_code == 200


def test_totp_enrolment_returns_a_secret_and_an_otpauth_uri(client, user):
    response = begin_totp(client, user)
    assert response.status_code == 200
    body = body_of(response)
    assert set(body) == {"secret", "otpauth_uri"}
    assert re.fullmatch(r"[A-Z2-7]{16,}", body["secret"]), body
    uri = urlparse(body["otpauth_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    query = parse_qs(uri.query)
    assert query["secret"] == [body["secret"]] and query["issuer"] == ["Okpay"]


def test_pending_totp_is_not_required_at_login(client, user):
    assert begin_totp(client, user).status_code == 200
    assert body_of(me(client, user["access_token"]))["mfa"] == {"totp": False, "sms": False, "email": False}
    assert_tokens(login(client, user["phone"]), user)


def test_activation_with_a_wrong_code_is_422_and_totp_stays_off(client, user):
    secret = body_of(begin_totp(client, user))["secret"]
    step = steady_step()
    error = assert_error(activate_totp(client, user, wrong(totp_code(secret, step))), 422, "invalid_code")
    assert isinstance(error["details"]["attempts_left"], int)
    assert body_of(me(client, user["access_token"]))["mfa"]["totp"] is False
    assert_tokens(login(client, user["phone"]), user)


def test_a_new_enrolment_replaces_the_pending_secret(client, user):
    first = body_of(begin_totp(client, user))["secret"]
    second = body_of(begin_totp(client, user))["secret"]
    assert first != second
    step = steady_step()
    assert_error(activate_totp(client, user, totp_code(first, step)), 422, "invalid_code")
    assert activate_totp(client, user, totp_code(second, step)).status_code == 200


def test_activation_without_enrolment_is_404(client, user):
    assert_error(activate_totp(client, user, "123456"), 404, "not_found")


def test_activation_returns_ten_recovery_codes_and_then_login_needs_totp(client, user):
    totp = enable_totp(client, user)
    codes = totp["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert body_of(me(client, user["access_token"]))["mfa"] == {"totp": True, "sms": False, "email": False}
    # a security change: both contacts are told
    assert "verification settings changed" in notice_texts(user["email"])
    assert "verification settings changed" in notice_texts(user["phone"])

    challenge = mfa_challenge(client, user["phone"])
    assert set(challenge) == {"mfa_required", "mfa_token", "mfa_methods"}
    assert challenge["mfa_methods"] == ["totp", "recovery_code"]
    assert "access_token" not in challenge
    tokens = assert_tokens(mfa_verify(client, challenge["mfa_token"], "totp", totp_code(totp["secret"], totp["step"])))
    assert me(client, tokens["access_token"]).status_code == 200
    # the mfa_token is spent with its sign-in
    assert_error(
        mfa_verify(client, challenge["mfa_token"], "totp", totp_code(totp["secret"], totp["step"] + 1)),
        422,
        "invalid_code",
    )


def test_login_by_email_needs_totp_too(client, user):
    totp = enable_totp(client, user)
    challenge = mfa_challenge(client, user["email"])
    assert_tokens(mfa_verify(client, challenge["mfa_token"], "totp", totp_code(totp["secret"], totp["step"])), user)


def test_the_activation_code_cannot_be_replayed_at_login(client, user):
    totp = enable_totp(client, user)
    challenge = mfa_challenge(client, user["phone"])
    activation_code = totp_code(totp["secret"], totp["step"] - 1)
    error = assert_error(mfa_verify(client, challenge["mfa_token"], "totp", activation_code), 422, "invalid_code")
    assert error["details"]["attempts_left"] == 4


def test_a_totp_code_works_once(client, user):
    totp = enable_totp(client, user)
    code = totp_code(totp["secret"], totp["step"])
    first = mfa_challenge(client, user["phone"])
    assert_tokens(mfa_verify(client, first["mfa_token"], "totp", code))
    second = mfa_challenge(client, user["phone"])
    assert_error(mfa_verify(client, second["mfa_token"], "totp", code), 422, "invalid_code")
    # an older step than the last one accepted is refused as well
    assert_error(
        mfa_verify(client, second["mfa_token"], "totp", totp_code(totp["secret"], totp["step"] - 1)),
        422,
        "invalid_code",
    )
    # the next step's code still works
    assert_tokens(mfa_verify(client, second["mfa_token"], "totp", totp_code(totp["secret"], totp["step"] + 1)))


def test_two_concurrent_sign_ins_with_one_totp_code_pass_at_most_once(client, user):
    totp = enable_totp(client, user)
    first = mfa_challenge(client, user["phone"])["mfa_token"]
    second = mfa_challenge(client, user["phone"])["mfa_token"]
    code = totp_code(totp["secret"], totp["step"])
    results = run_together(
        lambda: mfa_verify(client, first, "totp", code),
        lambda: mfa_verify(client, second, "totp", code),
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 422], [r.body for r in results]
    assert_error(next(r for r in results if r.status_code == 422), 422, "invalid_code")


def test_two_concurrent_verifies_of_one_mfa_token_pass_at_most_once(client, user):
    totp = enable_totp(client, user)
    token = mfa_challenge(client, user["phone"])["mfa_token"]
    recovery = totp["recovery_codes"][0]
    results = run_together(
        lambda: mfa_verify(client, token, "totp", totp_code(totp["secret"], totp["step"])),
        lambda: mfa_verify(client, token, "recovery_code", recovery),
    )
    assert sorted(r.status_code for r in results) == [200, 422], [r.body for r in results]


def test_one_step_of_clock_drift_is_accepted_two_are_not(client, user):
    secret = body_of(begin_totp(client, user))["secret"]
    step = steady_step(margin=8)  # the whole test must run within one real step
    assert_error(activate_totp(client, user, totp_code(secret, step - 2)), 422, "invalid_code")
    assert_error(activate_totp(client, user, totp_code(secret, step + 2)), 422, "invalid_code")
    # one step behind (pyotp .at(now - 30)) activates
    assert activate_totp(client, user, totp_code(secret, step - 1)).status_code == 200
    challenge = mfa_challenge(client, user["phone"])
    assert_error(mfa_verify(client, challenge["mfa_token"], "totp", totp_code(secret, step + 2)), 422, "invalid_code")
    # one step ahead (.at(now + 30)) signs in
    assert_tokens(mfa_verify(client, challenge["mfa_token"], "totp", totp_code(secret, step + 1)))


def test_totp_follows_real_time_not_the_test_clock(client, user, frozen_clock):
    totp = enable_totp(client, user)
    move_clock(3600)
    challenge = mfa_challenge(client, user["phone"])
    assert_tokens(mfa_verify(client, challenge["mfa_token"], "totp", totp_code(totp["secret"], totp["step"])))


def test_enrolling_again_while_totp_is_on_is_409(client, user):
    totp = enable_totp(client, user)
    assert_error(begin_totp(client, user), 409, "totp_already_enabled")
    assert_error(activate_totp(client, user, totp_code(totp["secret"], totp["step"])), 409, "totp_already_enabled")
    # the state (409) is checked before the password (422), as the contract's check order says
    assert_error(begin_totp(client, user, "Not-The-Password-1"), 409, "totp_already_enabled")


def test_disable_needs_the_password_and_a_code(client, user):
    totp = enable_totp(client, user)
    headers = auth(user["access_token"])
    code = totp_code(totp["secret"], totp["step"])
    response = post_json(client, "/me/mfa/totp/disable", {"password": "Not-The-Password-1", "code": code}, headers)
    assert_error(response, 422, "invalid_password")
    response = post_json(client, "/me/mfa/totp/disable", {"password": PASSWORD, "code": wrong(code)}, headers)
    assert_error(response, 422, "invalid_code")
    assert_error(post_json(client, "/me/mfa/totp/disable", {"password": PASSWORD}, headers), 400, "validation_error")
    response = post_json(client, "/me/mfa/totp/disable", {"password": PASSWORD, "code": code}, headers)
    assert response.status_code == 204 and not response.body
    assert body_of(me(client, user["access_token"]))["mfa"]["totp"] is False
    assert_tokens(login(client, user["phone"]), user)
    assert "authenticator app was turned off" in notice_texts(user["email"])
    assert "verification settings changed" in notice_texts(user["phone"])


def test_totp_can_be_enrolled_again_after_disabling(client, user):
    totp = enable_totp(client, user)
    headers = auth(user["access_token"])
    code = totp_code(totp["secret"], totp["step"])
    assert post_json(client, "/me/mfa/totp/disable", {"password": PASSWORD, "code": code}, headers).status_code == 204
    again = enable_totp(client, user)
    assert again["secret"] != totp["secret"]
    # the old recovery codes died with the old secret
    challenge = mfa_challenge(client, user["phone"])
    assert_error(
        mfa_verify(client, challenge["mfa_token"], "recovery_code", totp["recovery_codes"][0]), 422, "invalid_code"
    )
    assert_tokens(mfa_verify(client, challenge["mfa_token"], "totp", totp_code(again["secret"], again["step"])))


# --- recovery codes ---------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once(client, user):
    totp = enable_totp(client, user)
    recovery = totp["recovery_codes"][3]
    challenge = mfa_challenge(client, user["phone"])
    assert_tokens(mfa_verify(client, challenge["mfa_token"], "recovery_code", recovery), user)
    challenge = mfa_challenge(client, user["phone"])
    assert_error(mfa_verify(client, challenge["mfa_token"], "recovery_code", recovery), 422, "invalid_code")
    # the other nine still work
    assert_tokens(mfa_verify(client, challenge["mfa_token"], "recovery_code", totp["recovery_codes"][4]), user)


def test_a_totp_code_is_not_a_recovery_code_and_vice_versa(client, user):
    totp = enable_totp(client, user)
    challenge = mfa_challenge(client, user["phone"])
    code = totp_code(totp["secret"], totp["step"])
    assert_error(mfa_verify(client, challenge["mfa_token"], "recovery_code", code), 422, "invalid_code")
    assert_error(mfa_verify(client, challenge["mfa_token"], "totp", totp["recovery_codes"][0]), 422, "invalid_code")


def test_new_recovery_codes_void_the_old_set(client, user):
    totp = enable_totp(client, user)
    headers = auth(user["access_token"])
    response = post_json(client, "/me/mfa/recovery-codes", {"password": "Not-The-Password-1"}, headers)
    assert_error(response, 422, "invalid_password")
    response = post_json(client, "/me/mfa/recovery-codes", {"password": PASSWORD}, headers)
    assert response.status_code == 200
    body = body_of(response)
    assert set(body) == {"codes"}
    fresh = body["codes"]
    assert len(fresh) == 10 and len(set(fresh)) == 10
    assert not set(fresh) & set(totp["recovery_codes"])
    assert "recovery codes" in notice_texts(user["email"])

    challenge = mfa_challenge(client, user["phone"])
    assert_error(
        mfa_verify(client, challenge["mfa_token"], "recovery_code", totp["recovery_codes"][0]), 422, "invalid_code"
    )
    assert_tokens(mfa_verify(client, challenge["mfa_token"], "recovery_code", fresh[0]), user)


def test_recovery_codes_or_disabling_without_totp_are_404(client, user):
    headers = auth(user["access_token"])
    assert_error(post_json(client, "/me/mfa/recovery-codes", {"password": PASSWORD}, headers), 404, "not_found")
    response = post_json(client, "/me/mfa/totp/disable", {"password": PASSWORD, "code": "123456"}, headers)
    assert_error(response, 404, "not_found")


def test_the_last_recovery_code_still_works_and_then_none_is_offered(client, user):
    totp = enable_totp(client, user)
    for code in totp["recovery_codes"]:
        challenge = mfa_challenge(client, user["phone"])
        assert_tokens(mfa_verify(client, challenge["mfa_token"], "recovery_code", code))
    assert mfa_challenge(client, user["phone"])["mfa_methods"] == ["totp"]


# --- SMS and email codes ----------------------------------------------------------------------


def test_put_mfa_with_a_wrong_password_is_422(client, user):
    assert_error(set_mfa(client, user, "Not-The-Password-1", sms=True), 422, "invalid_password")
    assert body_of(me(client, user["access_token"]))["mfa"]["sms"] is False


def test_put_mfa_with_a_malformed_body_is_400(client, user):
    assert_error(set_mfa(client, user, sms="yes"), 400, "validation_error", field="sms")
    assert_error(set_mfa(client, user, sms=True, totp=True), 400, "validation_error", field="totp")


def test_sms_codes_at_sign_in(client, user):
    response = set_mfa(client, user, sms=True)
    assert response.status_code == 200
    assert body_of(response) == {"totp": False, "sms": True, "email": False}
    assert body_of(me(client, user["access_token"]))["mfa"] == {"totp": False, "sms": True, "email": False}
    assert "SMS codes are now used at sign-in" in notice_texts(user["email"])
    assert "verification settings changed" in notice_texts(user["phone"])

    challenge = mfa_challenge(client, user["phone"])
    assert challenge["mfa_methods"] == ["sms"]
    response = mfa_send(client, challenge["mfa_token"], "sms")
    assert response.status_code == 202 and body_of(response) == {"status": "sent"}
    (sms,) = [m for m in messages(user["phone"], "sms") if "sign in" in m.body]
    code = re.search(r"(?<!\d)\d{6}(?!\d)", sms.body).group(0)
    assert any(code in body for body in moto_sms(user["phone"]))
    assert_error(mfa_verify(client, challenge["mfa_token"], "sms", wrong(code)), 422, "invalid_code")
    tokens = assert_tokens(mfa_verify(client, challenge["mfa_token"], "sms", code), user)
    assert me(client, tokens["access_token"]).status_code == 200
    # the code and the token are spent
    assert_error(mfa_verify(client, challenge["mfa_token"], "sms", code), 422, "invalid_code")


def test_an_sms_code_is_bound_to_its_mfa_token(client, user):
    set_mfa(client, user, sms=True)
    first = mfa_challenge(client, user["phone"])["mfa_token"]
    code = sent_mfa_code(client, first, "sms", user["phone"])
    second = mfa_challenge(client, user["phone"])["mfa_token"]
    assert_error(mfa_verify(client, second, "sms", code), 422, "invalid_code")
    assert_tokens(mfa_verify(client, first, "sms", code), user)


def test_an_sms_code_expires_after_five_minutes(client, user, frozen_clock):
    set_mfa(client, user, sms=True)
    token = mfa_challenge(client, user["phone"])["mfa_token"]
    code = sent_mfa_code(client, token, "sms", user["phone"])
    move_clock(5 * 60 + 1)
    assert_error(mfa_verify(client, token, "sms", code), 422, "invalid_code")


def test_turning_sms_off_signs_in_without_a_code(client, user):
    set_mfa(client, user, sms=True)
    response = set_mfa(client, user, sms=False)
    assert body_of(response) == {"totp": False, "sms": False, "email": False}
    assert_tokens(login(client, user["phone"]), user)


def test_email_codes_need_a_verified_email(client):
    account = register_user(client, verify_email=False)
    assert_error(set_mfa(client, account, email=True), 400, "validation_error", field="email")
    assert body_of(me(client, account["access_token"]))["mfa"]["email"] is False


def test_email_codes_at_sign_in(client, user):
    response = set_mfa(client, user, email=True)
    assert body_of(response) == {"totp": False, "sms": False, "email": True}
    challenge = mfa_challenge(client, user["email"])
    assert challenge["mfa_methods"] == ["email"]
    code = sent_mfa_code(client, challenge["mfa_token"], "email", user["email"])
    assert any(code in m.body for m in moto_emails(user["email"]))
    assert_tokens(mfa_verify(client, challenge["mfa_token"], "email", code), user)


def test_every_enabled_factor_is_offered(client, user):
    totp = enable_totp(client, user)
    assert body_of(set_mfa(client, user, sms=True, email=True)) == {"totp": True, "sms": True, "email": True}
    challenge = mfa_challenge(client, user["phone"])
    assert sorted(challenge["mfa_methods"]) == ["email", "recovery_code", "sms", "totp"]
    assert_tokens(mfa_verify(client, challenge["mfa_token"], "totp", totp_code(totp["secret"], totp["step"])))


def test_a_method_that_is_not_enabled_is_400(client, user):
    set_mfa(client, user, sms=True)
    token = mfa_challenge(client, user["phone"])["mfa_token"]
    assert_error(mfa_send(client, token, "email"), 400, "validation_error", field="method")
    assert_error(mfa_verify(client, token, "totp", "123456"), 400, "validation_error", field="method")
    assert_error(mfa_verify(client, token, "email", "123456"), 400, "validation_error", field="method")
    assert_error(mfa_send(client, token, "totp"), 400, "validation_error", field="method")


def test_an_unknown_mfa_token_is_422(client):
    assert_error(mfa_send(client, "no-such-token", "sms"), 422, "invalid_code")
    error = assert_error(mfa_verify(client, "no-such-token", "sms", "123456"), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 0}


def test_the_mfa_token_expires(client, user, frozen_clock):
    totp = enable_totp(client, user)
    token = mfa_challenge(client, user["phone"])["mfa_token"]
    move_clock(11 * 60)
    assert_error(mfa_verify(client, token, "totp", totp_code(totp["secret"], totp["step"])), 422, "invalid_code")


def test_five_wrong_codes_void_the_mfa_token(client, user, frozen_clock):
    set_mfa(client, user, sms=True)
    token = mfa_challenge(client, user["phone"])["mfa_token"]
    code = sent_mfa_code(client, token, "sms", user["phone"])
    for left in (4, 3, 2, 1, 0):
        error = assert_error(mfa_verify(client, token, "sms", wrong(code)), 422, "invalid_code")
        assert error["details"] == {"attempts_left": left}
    move_clock(5)  # past the 1 s lockout the five failures caused
    error = assert_error(mfa_verify(client, token, "sms", code), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 0}


def test_five_wrong_totp_codes_void_the_mfa_token(client, user, frozen_clock):
    totp = enable_totp(client, user)
    token = mfa_challenge(client, user["phone"])["mfa_token"]
    code = totp_code(totp["secret"], totp["step"])
    for _ in range(5):
        assert_error(mfa_verify(client, token, "totp", wrong(code)), 422, "invalid_code")
    move_clock(5)
    error = assert_error(mfa_verify(client, token, "totp", code), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 0}


def test_wrong_mfa_codes_lock_the_login(client, user, frozen_clock):
    set_mfa(client, user, sms=True)
    token = mfa_challenge(client, user["phone"])["mfa_token"]
    code = sent_mfa_code(client, token, "sms", user["phone"])
    for _ in range(5):
        assert_error(mfa_verify(client, token, "sms", wrong(code)), 422, "invalid_code")
    response = login(client, user["phone"])
    assert_error(response, 423, "account_locked")
    assert int(response.headers["Retry-After"]) >= 1


def test_a_locked_login_refuses_the_right_mfa_code(client, user, frozen_clock):
    set_mfa(client, user, sms=True)
    token = mfa_challenge(client, user["phone"])["mfa_token"]
    code = sent_mfa_code(client, token, "sms", user["phone"])
    # four wrong MFA codes and one wrong password: five in one counter
    for _ in range(4):
        assert_error(mfa_verify(client, token, "sms", wrong(code)), 422, "invalid_code")
    assert_error(login(client, user["phone"], "Not-The-Password-1"), 401, "invalid_credentials")
    assert_error(mfa_verify(client, token, "sms", code), 423, "account_locked")


def test_wrong_mfa_codes_and_wrong_reset_codes_share_one_counter(client, user, frozen_clock):
    set_mfa(client, user, sms=True)
    token = mfa_challenge(client, user["phone"])["mfa_token"]
    code = sent_mfa_code(client, token, "sms", user["phone"])
    for _ in range(3):
        assert_error(mfa_verify(client, token, "sms", wrong(code)), 422, "invalid_code")
    forgot(client, user["phone"])
    reset_code = last_code(user["phone"])
    for _ in range(2):
        assert_error(reset(client, user["phone"], wrong(reset_code), "Saffron-Kettle-Drift-88"), 422, "invalid_code")
    assert_error(login(client, user["phone"]), 423, "account_locked")


def test_a_completed_mfa_sign_in_clears_the_failures(client, user, frozen_clock):
    set_mfa(client, user, sms=True)
    token = mfa_challenge(client, user["phone"])["mfa_token"]
    code = sent_mfa_code(client, token, "sms", user["phone"])
    for _ in range(4):
        assert_error(mfa_verify(client, token, "sms", wrong(code)), 422, "invalid_code")
    assert_tokens(mfa_verify(client, token, "sms", code), user)
    # four more failures do not lock: the count started again
    for _ in range(4):
        assert_error(login(client, user["phone"], "Not-The-Password-1"), 401, "invalid_credentials")
    assert login(client, user["phone"]).status_code == 200


def test_wrong_reauth_codes_revoke_the_session_and_leave_the_sign_in_open(client, user):
    totp = enable_totp(client, user)
    headers = auth(user["access_token"])
    code = totp_code(totp["secret"], totp["step"])
    for _ in range(5):
        response = post_json(client, "/me/mfa/totp/disable", {"password": PASSWORD, "code": wrong(code)}, headers)
        assert_error(response, 422, "invalid_code")
    assert_error(me(client, user["access_token"]), 401, "unauthorized")
    assert body_of(login(client, user["phone"]))["mfa_required"] is True  # not 423: the owner can sign in


def test_mfa_changes_notify_in_the_users_language(client):
    account = register_user(client, headers={"Accept-Language": "zh-CN"})
    set_mfa(client, account, sms=True)
    assert "登录验证设置已更改" in notice_texts(account["phone"])
    assert "登录时将使用短信验证码" in notice_texts(account["email"])
    token = mfa_challenge(client, account["phone"])["mfa_token"]
    sent_mfa_code(client, token, "sms", account["phone"])
    assert "登录验证" in messages(account["phone"], "sms")[0].body


def test_two_concurrent_activations_turn_totp_on_once(client, user):
    secret = body_of(begin_totp(client, user))["secret"]
    step = steady_step()
    results = run_together(
        lambda: activate_totp(client, user, totp_code(secret, step - 1)),
        lambda: activate_totp(client, user, totp_code(secret, step)),
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses[0] == 200 and statuses[1] in (200, 409, 422), [r.body for r in results]
    if statuses[1] != 200:
        loser = next(r for r in results if r.status_code != 200)
        assert_error(loser, loser.status_code, "totp_already_enabled" if loser.status_code == 409 else "invalid_code")
    # whichever won, the recovery codes it returned are the ones that work
    winner = body_of(next(r for r in results if r.status_code == 200))["recovery_codes"]
    challenge = mfa_challenge(client, user["phone"])
    assert_tokens(mfa_verify(client, challenge["mfa_token"], "recovery_code", winner[-1]), user)


def test_an_unverified_email_factor_is_400_before_the_password(client):
    account = register_user(client, verify_email=False)
    response = set_mfa(client, account, "Not-The-Password-1", email=True)
    assert_error(response, 400, "validation_error", field="email")
