"""Verifying and changing email and phone: /me/contacts/verify, /resend, /change."""

from __future__ import annotations

import pytest

from tests.helpers.auth import login, login_tokens, me, register, register_user, start_registration
from tests.helpers.clock import move_clock
from tests.helpers.codes import codes_sent, last_code
from tests.helpers.http import assert_error, auth, body_of, post_json
from tests.helpers.mfa import wrong
from tests.helpers.outbox import messages, moto_emails, moto_sms, notice_texts, notices
from tests.helpers.users import PASSWORD, new_email, new_phone


def verify(client, user, channel, code):
    return post_json(client, "/me/contacts/verify", {"channel": channel, "code": code}, auth(user["access_token"]))


def resend(client, user, channel):
    return post_json(client, "/me/contacts/resend", {"channel": channel}, auth(user["access_token"]))


def change(client, user, channel, value, password=PASSWORD):
    payload = {"channel": channel, "value": value, "password": password}
    return post_json(client, "/me/contacts/change", payload, auth(user["access_token"]))


@pytest.fixture
def unverified(client):
    """An account whose registration email is not verified yet."""
    return register_user(client, verify_email=False)


# --- verifying the registration email ---------------------------------------------------------


def test_the_registration_email_is_verified_with_its_code(client, unverified):
    assert_error(login(client, unverified["email"]), 401, "invalid_credentials")
    response = verify(client, unverified, "email", last_code(unverified["email"]))
    assert response.status_code == 200
    assert body_of(response) == {"channel": "email", "value": unverified["email"], "verified": True}
    assert body_of(me(client, unverified["access_token"]))["email_verified"] is True
    assert login_tokens(client, unverified["email"])["user_id"] == unverified["user_id"]


def test_a_wrong_contact_code_is_422_and_counts_down(client, unverified):
    code = last_code(unverified["email"])
    for left in (4, 3):
        error = assert_error(verify(client, unverified, "email", wrong(code)), 422, "invalid_code")
        assert error["details"] == {"attempts_left": left}
    assert body_of(me(client, unverified["access_token"]))["email_verified"] is False
    assert verify(client, unverified, "email", code).status_code == 200


def test_five_wrong_contact_codes_void_it(client, unverified):
    code = last_code(unverified["email"])
    for _ in range(5):
        assert_error(verify(client, unverified, "email", wrong(code)), 422, "invalid_code")
    error = assert_error(verify(client, unverified, "email", code), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 0}


def test_a_contact_code_works_once(client, unverified):
    code = last_code(unverified["email"])
    assert verify(client, unverified, "email", code).status_code == 200
    assert_error(verify(client, unverified, "email", code), 422, "invalid_code")


def test_verify_with_nothing_pending_is_422(client, user):
    assert_error(verify(client, user, "phone", "123456"), 422, "invalid_code")
    assert_error(verify(client, user, "email", "123456"), 422, "invalid_code")


def test_verify_with_a_malformed_body_is_400(client, unverified):
    assert_error(verify(client, unverified, "fax", "123456"), 400, "validation_error", field="channel")
    response = post_json(client, "/me/contacts/verify", {"channel": "email"}, auth(unverified["access_token"]))
    assert_error(response, 400, "validation_error", field="code")
    assert_error(post_json(client, "/me/contacts/verify", {"channel": "email", "code": "1"}), 401, "unauthorized")


def test_a_code_of_one_account_does_not_verify_another(client, unverified):
    other = register_user(client, verify_email=False)
    assert_error(verify(client, other, "email", last_code(unverified["email"])), 422, "invalid_code")


def test_resend_sends_a_new_email_code(client, unverified, distinct_codes):
    first = last_code(unverified["email"])
    response = resend(client, unverified, "email")
    assert response.status_code == 202 and body_of(response) == {"status": "sent"}
    assert len(codes_sent(unverified["email"])) == 2
    code = last_code(unverified["email"])
    assert any(code in m.body for m in moto_emails(unverified["email"]))
    assert code != first
    assert_error(verify(client, unverified, "email", first), 422, "invalid_code")
    assert verify(client, unverified, "email", code).status_code == 200


def test_resend_does_not_buy_more_guesses(client, unverified):
    code = last_code(unverified["email"])
    for _ in range(3):
        verify(client, unverified, "email", wrong(code))
    resend(client, unverified, "email")
    code = last_code(unverified["email"])
    error = assert_error(verify(client, unverified, "email", wrong(code)), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 1}


def test_resend_when_nothing_is_pending_is_still_202(client, user):
    before = len(outbox_for(user))
    assert resend(client, user, "email").status_code == 202
    assert resend(client, user, "phone").status_code == 202
    assert len(outbox_for(user)) == before


def outbox_for(user):
    return messages(user["email"]) + messages(user["phone"])


def test_an_email_taken_before_verification_is_409(client, unverified):
    other = register_user(client, email=unverified["email"], verify_email=True)
    assert login_tokens(client, unverified["email"])["user_id"] == other["user_id"]
    response = verify(client, unverified, "email", codes_sent(unverified["email"])[-1])
    assert_error(response, 409, "email_in_use")
    assert body_of(me(client, unverified["access_token"]))["email_verified"] is False


# --- changing the email -----------------------------------------------------------------------


def test_change_email_needs_the_password(client, user):
    assert_error(change(client, user, "email", new_email(), "Not-The-Password-1"), 422, "invalid_password")
    assert me(client, user["access_token"]).status_code == 200


def test_change_email_sends_a_code_to_the_new_address_and_a_notice_to_the_old(client, user):
    fresh = new_email()
    response = change(client, user, "email", fresh)
    assert response.status_code == 202 and body_of(response) == {"status": "sent"}
    code = last_code(fresh)
    assert "confirm your new email" in messages(fresh)[0].body
    assert any(code in m.body for m in moto_emails(fresh))
    assert "A change of your email address was requested" in notice_texts(user["email"])
    assert "A change of your email address was requested" in notice_texts(user["phone"])
    assert not [m for m in messages(user["email"]) if code in m.body]
    # nothing switches before the code is used
    profile = body_of(me(client, user["access_token"]))
    assert profile["email"] == user["email"] and profile["email_verified"] is True
    assert_error(login(client, fresh), 401, "invalid_credentials")


def test_verifying_the_new_email_switches_it(client, user):
    fresh = new_email()
    change(client, user, "email", fresh)
    response = verify(client, user, "email", last_code(fresh))
    assert response.status_code == 200
    assert body_of(response) == {"channel": "email", "value": fresh, "verified": True}
    profile = body_of(me(client, user["access_token"]))
    assert profile["email"] == fresh and profile["email_verified"] is True
    assert login_tokens(client, fresh)["user_id"] == user["user_id"]
    assert_error(login(client, user["email"]), 401, "invalid_credentials")
    # both addresses hear about the switch
    assert "Your email address was changed" in notice_texts(user["email"])
    assert "Your email address was changed" in notice_texts(fresh)
    assert "Your email address was changed" in notice_texts(user["phone"])


@pytest.mark.parametrize("channel", ["email", "phone"])
def test_the_switch_notice_reaches_each_contact_once(client, user, channel):
    fresh = new_email() if channel == "email" else new_phone()
    change(client, user, channel, fresh)
    verify(client, user, channel, last_code(fresh))
    what = "email address" if channel == "email" else "phone number"
    for to in (user["email"], user["phone"], fresh):
        changed = [m for m in notices(to) if f"{what} was changed" in f"{m.subject} {m.body}"]
        assert len(changed) == 1, (to, [m.body for m in changed])


def test_the_old_email_is_released(client, user):
    old = user["email"]
    fresh = new_email()
    change(client, user, "email", fresh)
    verify(client, user, "email", last_code(fresh))
    other = register_user(client, email=old)  # verifies it: no 409
    assert login_tokens(client, old)["user_id"] == other["user_id"]


def test_change_email_to_one_verified_on_another_account_is_409(client, user):
    other = register_user(client)
    assert_error(change(client, user, "email", other["email"].upper()), 409, "email_in_use")
    assert not codes_sent(other["email"])[:-1]  # only its own registration code


def test_change_email_to_one_unverified_elsewhere_is_allowed(client, user):
    other = register_user(client, verify_email=False)
    assert change(client, user, "email", other["email"]).status_code == 202
    assert verify(client, user, "email", last_code(other["email"])).status_code == 200
    assert login_tokens(client, other["email"])["user_id"] == user["user_id"]


def test_the_new_email_taken_meanwhile_is_409_at_verify(client, user):
    fresh = new_email()
    change(client, user, "email", fresh)
    code = last_code(fresh)
    register_user(client, email=fresh)  # verified there first
    assert_error(verify(client, user, "email", code), 409, "email_in_use")
    assert body_of(me(client, user["access_token"]))["email"] == user["email"]
    login_tokens(client, user["email"])


def test_change_email_to_an_invalid_address_is_400(client, user):
    assert_error(change(client, user, "email", "not-an-email"), 400, "validation_error", field="value")


def test_resend_repeats_the_pending_change_code(client, user):
    fresh = new_email()
    change(client, user, "email", fresh)
    assert resend(client, user, "email").status_code == 202
    assert len(codes_sent(fresh)) == 2
    assert verify(client, user, "email", last_code(fresh)).status_code == 200


def test_email_codes_are_limited_to_ten_an_hour(client, unverified, frozen_clock):
    # the registration sent the first of ten
    assert [resend(client, unverified, "email").status_code for _ in range(9)] == [202] * 9
    response = resend(client, unverified, "email")
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
    assert_error(change(client, unverified, "email", new_email()), 429, "rate_limited")
    assert len(codes_sent(unverified["email"])) == 10
    move_clock(3601)
    again = login_tokens(client, unverified["phone"])
    assert resend(client, again, "email").status_code == 202


# --- changing the phone -----------------------------------------------------------------------


def test_change_phone_sends_an_sms_code_to_the_new_number_and_a_notice_to_the_old(client, user):
    fresh = new_phone()
    assert_error(change(client, user, "phone", fresh, "Not-The-Password-1"), 422, "invalid_password")
    response = change(client, user, "phone", fresh[3:])  # a number without + is read as +86
    assert response.status_code == 202 and body_of(response) == {"status": "sent"}
    code = last_code(fresh)
    assert "confirm your new phone number" in messages(fresh)[0].body
    assert any(code in body for body in moto_sms(fresh))
    assert "A change of your phone number was requested" in notice_texts(user["phone"])
    assert "A change of your phone number was requested" in notice_texts(user["email"])
    assert body_of(me(client, user["access_token"]))["phone"] == user["phone"]


def test_verifying_the_new_phone_switches_it(client, user, frozen_clock):
    old, fresh = user["phone"], new_phone()
    change(client, user, "phone", fresh)
    response = verify(client, user, "phone", last_code(fresh))
    assert response.status_code == 200
    assert body_of(response) == {"channel": "phone", "value": fresh, "verified": True}
    profile = body_of(me(client, user["access_token"]))
    assert profile["phone"] == fresh and profile["phone_verified"] is True
    assert login_tokens(client, fresh)["user_id"] == user["user_id"]
    assert_error(login(client, old), 401, "invalid_credentials")
    assert "Your phone number was changed" in notice_texts(old)
    assert "Your phone number was changed" in notice_texts(fresh)
    # the old number is free for a new account
    move_clock(61)
    start_registration(client, old)
    assert register(client, phone=old, code=last_code(old), email=new_email()).status_code == 201


def test_change_phone_to_another_accounts_number_is_409(client, user):
    other = register_user(client)
    assert_error(change(client, user, "phone", other["phone"]), 409, "phone_in_use")


def test_the_new_phone_taken_meanwhile_is_409_at_verify(client, user):
    fresh = new_phone()
    change(client, user, "phone", fresh)
    code = last_code(fresh)
    other = register_user(client, phone=fresh)  # signed up with that number first
    assert_error(verify(client, user, "phone", code), 409, "phone_in_use")
    assert body_of(me(client, user["access_token"]))["phone"] == user["phone"]
    assert login_tokens(client, fresh)["user_id"] == other["user_id"]
    assert login_tokens(client, user["phone"])["user_id"] == user["user_id"]


@pytest.mark.parametrize(
    ("value", "field"),
    [("+12025550123", "value"), ("12345", "value"), ("", "value")],
)
def test_change_phone_to_a_bad_number_is_400(client, user, value, field):
    assert_error(change(client, user, "phone", value), 400, "validation_error", field=field)


def test_resend_of_a_phone_code_waits_a_minute(client, user, frozen_clock):
    fresh = new_phone()
    change(client, user, "phone", fresh)
    response = resend(client, user, "phone")
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    move_clock(61)
    assert resend(client, user, "phone").status_code == 202
    assert len(codes_sent(fresh)) == 2
    assert verify(client, user, "phone", last_code(fresh)).status_code == 200


def test_contact_messages_follow_the_users_language(client):
    account = register_user(client, headers={"Accept-Language": "zh-CN"})
    fresh = new_email()
    change(client, account, "email", fresh)
    assert "确认新邮箱" in messages(fresh)[0].body
    assert "有人申请更换您的邮箱" in notice_texts(account["phone"])


def test_a_malformed_new_contact_is_400_before_the_password(client, user):
    response = change(client, user, "email", "not-an-email", "Not-The-Password-1")
    assert_error(response, 400, "validation_error", field="value")
    response = change(client, user, "phone", "+12025550123", "Not-The-Password-1")
    assert_error(response, 400, "validation_error", field="value")


def test_replacing_an_unverified_email_notifies_the_phone_and_the_new_address(client, unverified):
    fresh = new_email()
    assert change(client, unverified, "email", fresh).status_code == 202
    assert verify(client, unverified, "email", last_code(fresh)).status_code == 200
    assert "Your email address was changed" in notice_texts(unverified["phone"])
    assert "Your email address was changed" in notice_texts(fresh)
    # the unverified address never proved it was the user's: it hears nothing
    assert notices(unverified["email"]) == []


def test_the_first_verification_of_the_email_is_not_a_change(client, unverified):
    verify(client, unverified, "email", last_code(unverified["email"]))
    assert "was changed" not in notice_texts(unverified["phone"])
