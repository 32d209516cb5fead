"""The "this wasn't me" line of security notices and POST /auth/freeze/link (contract v1.2, section 11):
a single-use token (7 days) in the email version of every new-device, password, contact and MFA
notice, never in the SMS; redeeming it freezes the account (reason suspected_fraud) and ends every session."""

from __future__ import annotations

import re
from datetime import timedelta

from chalicelib.store.codes import Code
from chalicelib.store.users import get_user
from tests.helpers.auth import register_user
from tests.helpers.clock import move_clock
from tests.helpers.http import assert_error, auth, body_of, post_json, put_json
from tests.helpers.outbox import messages, notices
from tests.helpers.parallel import run_together
from tests.helpers.users import OTHER_PASSWORD, PASSWORD

_TOKEN = re.compile(r"/freeze\?token=([A-Za-z0-9_\-]+)")


def _login(client, account, device_id="new-phone", device_name="Redmi K70"):
    body = {"login": account["phone"], "password": PASSWORD, "device_id": device_id, "device_name": device_name}
    response = post_json(client, "/auth/login", body)
    assert response.status_code == 200, response.body
    return auth(body_of(response)["access_token"])


def _tokens_in(to: str) -> list[str]:
    """The "this wasn't me" tokens in the messages sent to `to`, newest first."""
    return [match.group(1) for m in messages(to) for match in [_TOKEN.search(m.body)] if match]


def _link(client, token):
    return post_json(client, "/auth/freeze/link", {"token": token})


def test_a_new_device_notice_email_carries_a_freeze_link_and_the_sms_does_not(client, seeded):
    account = register_user(client)
    _login(client, account)

    (email,) = [m for m in notices(account["email"]) if "New sign-in" in (m.subject or "")]
    assert "This wasn't me" in email.body and "Redmi K70" in email.body
    (token,) = _tokens_in(account["email"])
    assert len(token) >= 43  # 256 bits, URL-safe base64
    assert _tokens_in(account["phone"]) == []
    assert all("token" not in m.body and "freeze?" not in m.body for m in messages(account["phone"]))


def test_the_link_freezes_for_suspected_fraud_and_ends_every_session(client, seeded):
    account = register_user(client)
    first = auth(account["access_token"])
    thief = _login(client, account)
    (token,) = _tokens_in(account["email"])

    response = _link(client, token)

    assert response.status_code == 200, response.body
    assert body_of(response) == {"status": "frozen"}
    for headers in (first, thief):
        assert_error(client.get("/me", headers=headers), 401, "unauthorized")
    fresh = _login(client, account, device_id="own-phone")
    me = body_of(client.get("/me", headers=fresh))
    assert me["status"] == "frozen" and me["freeze"]["reason"] == "suspected_fraud" and me["freeze"]["by"] == "user"
    tickets = body_of(client.get("/support/tickets", headers=fresh))["data"]
    assert [t["category"] for t in tickets] == ["security"]
    # Only support lifts a suspected-fraud freeze.
    move_clock(timedelta(hours=2))
    fresh = _login(client, account, device_id="own-phone")
    unfreeze = {"password": PASSWORD, "code": "123456", "method": "sms"}
    assert_error(post_json(client, "/me/unfreeze", unfreeze, fresh), 403, "agent_review_required")


def test_each_kind_of_notice_email_carries_its_own_token(client, seeded):
    account = register_user(client)
    headers = auth(account["access_token"])
    _login(client, account)  # new_device
    change = {"current_password": PASSWORD, "new_password": OTHER_PASSWORD}
    assert post_json(client, "/me/password", change, headers).status_code == 204  # password_changed
    move_clock(61)
    contact = {"channel": "email", "value": "brand.new@example.com", "password": OTHER_PASSWORD}
    assert post_json(client, "/me/contacts/change", contact, headers).status_code == 202  # contact_change_requested
    mfa = put_json(client, "/me/mfa", {"password": OTHER_PASSWORD, "sms": True}, headers)  # mfa_changed
    assert mfa.status_code == 200, mfa.body

    tokens = _tokens_in(account["email"])
    assert len(tokens) == 4 and len(set(tokens)) == 4
    subjects = [m.subject for m in notices(account["email"]) if _TOKEN.search(m.body)]
    assert any("password was changed" in s for s in subjects)
    assert any("change of your email" in s for s in subjects)
    assert any("verification settings" in s for s in subjects)
    assert _tokens_in(account["phone"]) == []
    # Not a notice of a change (the freeze itself) has none.
    assert _link(client, tokens[0]).status_code == 200
    frozen_mail = [m for m in notices(account["email"]) if "frozen" in (m.subject or "")]
    assert frozen_mail and not _TOKEN.search(frozen_mail[0].body)


def test_the_chinese_email_says_不是我本人操作(client, seeded):
    account = register_user(client, headers={"Accept-Language": "zh-CN"})
    _login(client, account)
    (email,) = [m for m in notices(account["email"]) if "新设备登录" in (m.subject or "")]
    assert "不是我本人操作" in email.body and _TOKEN.search(email.body)


def test_a_token_works_once_serially(client, seeded):
    account = register_user(client)
    _login(client, account)
    (token,) = _tokens_in(account["email"])
    assert _link(client, token).status_code == 200
    assert_error(_link(client, token), 422, "invalid_token")


def test_the_same_token_sent_in_parallel_passes_exactly_once(client, seeded):
    account = register_user(client)
    _login(client, account)
    (token,) = _tokens_in(account["email"])

    answers = run_together(*[lambda: _link(client, token) for _ in range(6)])

    assert sorted(a.status_code for a in answers) == [200] + [422] * 5
    assert all(body_of(a)["error"]["code"] == "invalid_token" for a in answers if a.status_code == 422)
    assert get_user(account["user_id"]).status == "frozen"


def test_a_token_expires_after_7_days_on_the_app_clock(client, seeded, frozen_clock):
    account = register_user(client)
    _login(client, account)
    _login(client, account, device_id="second-new-phone")
    newer, older = _tokens_in(account["email"])  # issued at the same moment (the clock stands)

    move_clock(timedelta(days=7) - timedelta(seconds=30))
    assert _link(client, newer).status_code == 200  # still within its 7 days

    move_clock(timedelta(seconds=31))
    # Expired: 422 (a live token for a frozen account would be 200, as above).
    assert_error(_link(client, older), 422, "invalid_token")


def test_an_unknown_or_malformed_token_is_422_or_400(client, seeded):
    assert_error(_link(client, "x" * 43), 422, "invalid_token")
    assert_error(post_json(client, "/auth/freeze/link", {"token": ""}), 400, "validation_error", field="token")
    assert_error(post_json(client, "/auth/freeze/link", {"tokn": "abc"}), 400, "validation_error")


def test_an_already_frozen_account_answers_200_and_every_session_ends(client, seeded):
    account = register_user(client)
    kept = auth(account["access_token"])
    _login(client, account)
    (token,) = _tokens_in(account["email"])
    assert post_json(client, "/me/freeze", {"reason": "lost_device"}, kept).status_code == 200
    assert client.get("/me", headers=kept).status_code == 200  # a user's own freeze kept this session

    response = _link(client, token)

    assert response.status_code == 200 and body_of(response) == {"status": "frozen"}
    assert_error(client.get("/me", headers=kept), 401, "unauthorized")
    assert_error(_link(client, token), 422, "invalid_token")  # consumed all the same


def test_the_token_is_stored_only_as_a_keyed_hash_and_never_logged(client, seeded, log_lines):
    account = register_user(client)
    _login(client, account)
    (token,) = _tokens_in(account["email"])
    stored = [c for c in Code.scan() if c.code_id.startswith("freeze_link#")]
    assert len(stored) == 1 and stored[0].user_id == account["user_id"]
    assert token not in stored[0].code_id and token not in str(stored[0].attribute_values)
    assert _link(client, token).status_code == 200
    assert not any(token in line for line in log_lines())


def test_a_link_on_a_freeze_i_set_myself_makes_it_need_an_agent(client, seeded):
    """The token says someone else made a change: a user's own lost_device freeze becomes
    suspected_fraud, so whoever holds the password and the phone cannot lift it alone."""
    account = register_user(client)
    kept = auth(account["access_token"])
    _login(client, account)
    (token,) = _tokens_in(account["email"])
    assert post_json(client, "/me/freeze", {"reason": "lost_device"}, kept).status_code == 200

    assert _link(client, token).status_code == 200

    stored = get_user(account["user_id"])
    assert (stored.status, stored.freeze_reason, stored.frozen_by) == ("frozen", "suspected_fraud", "user")
    move_clock(timedelta(hours=2))
    headers = _login(client, account, device_id="new-phone", device_name="Redmi K70")
    answer = post_json(client, "/me/unfreeze", {"password": PASSWORD, "code": "123456", "method": "sms"}, headers)
    assert_error(answer, 403, "agent_review_required")
