"""Sign-up: POST /auth/register/start (a code by SMS) and POST /auth/register (the account)."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest

from chalicelib.adapters import clock
from tests.helpers.auth import confirm_email, login, login_tokens, me, register, register_user, start_registration
from tests.helpers.clock import move_clock
from tests.helpers.codes import codes_sent, last_code
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.outbox import messages, moto_emails, moto_sms
from tests.helpers.parallel import run_together
from tests.helpers.users import PASSWORD, new_email, new_phone


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# --- POST /auth/register/start ----------------------------------------------------------------


def test_start_texts_a_six_digit_code_to_a_new_number(client):
    phone = new_phone()
    response = start_registration(client, phone)
    assert response.status_code == 202
    assert body_of(response) == {"status": "sent"}
    (sms,) = messages(phone)
    assert sms.channel == "sms"
    code = last_code(phone)
    assert len(code) == 6 and code.isdigit()
    # really sent through SNS, not only copied to the outbox
    (recorded,) = moto_sms(phone)
    assert code in recorded


def test_start_reads_a_number_without_plus_as_mainland_china(client):
    response = start_registration(client, "13800138000")
    assert response.status_code == 202
    assert codes_sent("+8613800138000")
    assert moto_sms("+8613800138000")


@pytest.mark.parametrize("spelling", ["138 0013 8000", "+86 138-0013-8000", "  +8613800138000 "])
def test_start_normalises_any_spelling_to_e164(client, spelling):
    assert start_registration(client, spelling).status_code == 202
    assert len(codes_sent("+8613800138000")) == 1


def test_the_code_sms_follows_accept_language(client):
    phone = new_phone()
    start_registration(client, phone, {"Accept-Language": "zh-CN"})
    (sms,) = messages(phone)
    assert "验证码" in sms.body


def test_start_for_a_number_with_an_account_sends_a_notice_without_a_code(client, user):
    response = start_registration(client, user["phone"])
    assert response.status_code == 202
    assert body_of(response) == {"status": "sent"}
    newest = messages(user["phone"])[0]
    assert newest.channel == "sms" and "already" in newest.body
    assert not re.search(r"\d{4,}", newest.body)
    assert len(codes_sent(user["phone"])) == 1  # only the code that signed the account up
    assert newest.body in moto_sms(user["phone"])


def test_the_code_can_be_read_from_the_local_outbox_over_http(client):
    phone = new_phone()
    start_registration(client, phone)
    response = client.get(f"/_local/outbox?to={quote(phone)}")
    assert response.status_code == 200
    (message,) = body_of(response)["data"]
    assert message["channel"] == "sms" and message["to"] == phone
    code = re.search(r"\d{6}", message["body"]).group(0)
    assert register(client, phone=phone, code=code, email=new_email()).status_code == 201


def test_start_answers_the_same_for_new_and_existing_numbers(client, user):
    new = start_registration(client, new_phone())
    existing = start_registration(client, user["phone"])
    assert (new.status_code, new.body) == (existing.status_code, existing.body)


def test_start_to_a_country_we_do_not_text_is_400(client):
    error = assert_error(start_registration(client, "+14155552671"), 400, "validation_error", field="phone")
    assert "country" in error["message"]
    assert messages("+14155552671") == []
    assert moto_sms("+14155552671") == []


@pytest.mark.parametrize("phone", ["12345", "not a phone", "+86 123", "+999123456789"])
def test_start_with_an_invalid_phone_is_400(client, phone):
    assert_error(start_registration(client, phone), 400, "validation_error", field="phone")


@pytest.mark.parametrize("payload", [{}, {"phone": ""}, {"phone": 13800138000}, {"phone": "x", "extra": 1}])
def test_start_with_a_malformed_body_is_400(client, payload):
    assert_error(post_json(client, "/auth/register/start", payload), 400, "validation_error")


def test_start_other_allowed_regions(client):
    for phone in ("+85261234567", "+85366123456", "+886912345678"):
        assert start_registration(client, phone).status_code == 202
        assert codes_sent(phone), phone


# --- POST /auth/register ----------------------------------------------------------------------


def test_register_returns_tokens_and_the_phone_is_verified(client):
    phone, email = new_phone(), new_email()
    start_registration(client, phone)
    response = register(client, phone=phone, code=last_code(phone), email=email, display_name="Wang Fang")
    assert response.status_code == 201, response.body
    body = body_of(response)
    assert set(body) == {"user_id", "access_token", "refresh_token", "token_type", "expires_in", "session_id"}
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 900
    assert body["user_id"].startswith("usr_")
    assert body["session_id"] and body["access_token"] and body["refresh_token"]
    profile = body_of(me(client, body["access_token"]))
    assert profile["user_id"] == body["user_id"]
    assert profile["phone"] == phone and profile["phone_verified"] is True
    assert profile["email"] == email and profile["email_verified"] is False
    assert profile["display_name"] == "Wang Fang"
    assert profile["role"] == "user"


def test_register_accepts_the_phone_in_another_spelling(client):
    start_registration(client, "+8613800138000")
    response = register(client, phone="138 0013 8000", code=last_code("+8613800138000"), email=new_email())
    assert response.status_code == 201, response.body
    assert body_of(me(client, body_of(response)["access_token"]))["phone"] == "+8613800138000"


def test_register_emails_a_code_that_verifies_the_email(client):
    phone, email = new_phone(), new_email()
    start_registration(client, phone)
    tokens = body_of(register(client, phone=phone, code=last_code(phone), email=email))
    (mail,) = messages(email)
    assert mail.channel == "email"
    code = last_code(email)
    (recorded,) = moto_emails(email)
    assert code in recorded.body
    # an unverified email cannot sign in yet
    assert_error(login(client, email), 401, "invalid_credentials")
    confirm_email(client, tokens["access_token"], email)
    assert body_of(me(client, tokens["access_token"]))["email_verified"] is True
    assert login_tokens(client, email)["user_id"] == tokens["user_id"]


@pytest.mark.parametrize(
    ("accept_language", "locale"),
    [("zh-TW", "zh-CN"), ("zh-CN,zh;q=0.9", "zh-CN"), ("zh-Hant-HK", "zh-CN"), ("en-GB", "en"), (None, "en")],
)
def test_register_stores_the_locale_from_accept_language(client, accept_language, locale):
    headers = {"Accept-Language": accept_language} if accept_language else None
    tokens = register_user(client, headers=headers, verify_email=False)
    assert body_of(me(client, tokens["access_token"]))["locale"] == locale


def test_the_stored_locale_is_used_for_the_email_code(client):
    phone, email = new_phone(), new_email()
    start_registration(client, phone, {"Accept-Language": "zh-CN"})
    register(client, phone=phone, code=last_code(phone), email=email, headers={"Accept-Language": "zh-CN"})
    assert "验证码" in messages(email)[0].body


def test_register_with_a_wrong_code_is_422_and_counts_down(client):
    phone = new_phone()
    start_registration(client, phone)
    code = last_code(phone)
    for left in (4, 3, 2, 1, 0):
        error = assert_error(register(client, phone=phone, code=_wrong(code), email=new_email()), 422, "invalid_code")
        assert error["details"] == {"attempts_left": left}
    # five wrong guesses void the code: even the right one fails now
    error = assert_error(register(client, phone=phone, code=code, email=new_email()), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 0}


def test_asking_for_a_new_code_does_not_buy_more_guesses(client, frozen_clock):
    phone = new_phone()
    start_registration(client, phone)
    for _ in range(5):
        register(client, phone=phone, code=_wrong(last_code(phone)), email=new_email())
    move_clock(61)
    start_registration(client, phone)
    assert len(codes_sent(phone)) == 1  # no new code while the spent one is live
    error = assert_error(register(client, phone=phone, code=last_code(phone), email=new_email()), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 0}


def test_register_without_a_code_sent_is_422(client):
    assert_error(register(client, phone=new_phone(), code="123456", email=new_email()), 422, "invalid_code")


def test_the_code_expires(client, frozen_clock):
    phone = new_phone()
    start_registration(client, phone)
    move_clock(timedelta(minutes=11))
    assert_error(register(client, phone=phone, code=last_code(phone), email=new_email()), 422, "invalid_code")


def test_a_code_works_once(client):
    phone = new_phone()
    start_registration(client, phone)
    code = last_code(phone)
    assert register(client, phone=phone, code=code, email=new_email()).status_code == 201
    error = assert_error(register(client, phone=phone, code=code, email=new_email()), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 0}


def test_a_code_for_one_number_does_not_register_another(client):
    phone, other = new_phone(), new_phone()
    start_registration(client, phone)
    assert_error(register(client, phone=other, code=last_code(phone), email=new_email()), 422, "invalid_code")


def test_concurrent_registrations_with_one_code_create_one_account(client):
    phone, email = new_phone(), new_email()
    start_registration(client, phone)
    code = last_code(phone)
    results = run_together(*[lambda: register(client, phone=phone, code=code, email=email)] * 2)
    statuses = sorted(response.status_code for response in results)
    assert statuses == [201, 422], [r.body for r in results]
    loser = next(response for response in results if response.status_code != 201)
    assert assert_error(loser, 422, "invalid_code")["details"] == {"attempts_left": 0}
    winner = body_of(next(response for response in results if response.status_code == 201))
    assert login_tokens(client, phone)["user_id"] == winner["user_id"]


def test_email_verified_on_another_account_is_409(client, user):
    phone = new_phone()
    start_registration(client, phone)
    response = register(client, phone=phone, code=last_code(phone), email=user["email"].upper())
    assert_error(response, 409, "email_in_use")
    # the code was not used up by the refusal
    assert register(client, phone=phone, code=last_code(phone), email=new_email()).status_code == 201


def test_wrong_code_is_checked_before_the_email(client, user):
    phone = new_phone()
    start_registration(client, phone)
    response = register(client, phone=phone, code=_wrong(last_code(phone)), email=user["email"])
    assert_error(response, 422, "invalid_code")


def test_an_email_not_yet_verified_elsewhere_can_be_used(client):
    first = register_user(client, verify_email=False)
    second = register_user(client, email=first["email"], verify_email=False)
    assert second["user_id"] != first["user_id"]


def test_invalid_email_is_400(client):
    phone = new_phone()
    start_registration(client, phone)
    assert_error(
        register(client, phone=phone, code=last_code(phone), email="not-an-email"),
        400,
        "validation_error",
        field="email",
    )


def test_register_with_a_malformed_body_is_400(client):
    payload = {"phone": new_phone(), "code": "123456", "email": new_email(), "password": PASSWORD}
    assert_error(post_json(client, "/auth/register", payload), 400, "validation_error", field="display_name")
    payload["display_name"] = "x"
    payload["passwrod"] = "typo"
    assert_error(post_json(client, "/auth/register", payload), 400, "validation_error", field="passwrod")


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("Ab1!xyz", "8 characters"),
        ("x" * 129, "128"),
        ("woaini1314", "common"),
        ("5201314520", "common"),
        ("password", "common"),
        ("abcabcabcabc", "guess"),
        ("monkeybanana", "guess"),
    ],
)
def test_weak_password_is_400_and_says_why(client, password, says):
    phone = new_phone()
    start_registration(client, phone)
    code = last_code(phone)
    error = assert_error(
        register(client, phone=phone, code=code, email=new_email(), password=password), 400, "weak_password"
    )
    assert error["field"] == "password"
    assert says in error["message"], error
    # a weak password neither uses nor counts the code
    assert register(client, phone=phone, code=code, email=new_email()).status_code == 201


def test_the_short_chinese_favourite_is_refused(client):
    phone = new_phone()
    start_registration(client, phone)
    response = register(client, phone=phone, code=last_code(phone), email=new_email(), password="5201314")
    assert_error(response, 400, "weak_password")


def test_password_with_the_email_local_part_is_weak(client):
    phone = new_phone()
    start_registration(client, phone)
    response = register(
        client, phone=phone, code=last_code(phone), email="zhangwei.okay@example.com", password="Zhangwei.Okay-Rivers-9"
    )
    error = assert_error(response, 400, "weak_password")
    assert "email" in error["message"]


def test_password_with_the_phone_number_is_weak(client):
    phone = "+8613912345678"
    start_registration(client, phone)
    response = register(client, phone=phone, code=last_code(phone), email=new_email(), password="Fox-13912345678-x")
    error = assert_error(response, 400, "weak_password")
    assert "phone" in error["message"]


def test_weak_password_message_follows_accept_language(client):
    phone = new_phone()
    start_registration(client, phone)
    response = register(
        client,
        phone=phone,
        code=last_code(phone),
        email=new_email(),
        password="short",
        headers={"Accept-Language": "zh"},
    )
    error = assert_error(response, 400, "weak_password")
    assert "8 个字符" in error["message"]


def test_no_composition_rules(client):
    # a long passphrase of lower-case words is fine: NIST SP 800-63B
    tokens = register_user(client, password="correct orbit lantern staple", verify_email=False)
    assert login_tokens(client, tokens["phone"], "correct orbit lantern staple")


def test_created_at_uses_the_clock(client):
    moment = clock.now() - timedelta(days=3)
    clock.set_test_clock(moment)
    tokens = register_user(client, verify_email=False)
    created = body_of(me(client, tokens["access_token"]))["created_at"]
    assert created.startswith(clock.isoformat(moment)[:10])
