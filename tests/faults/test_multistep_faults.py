"""Flows of several writes that are not one transaction, failed by a busy DynamoDB at their last step
(after the account, the right password or the right code): the client's retry of the same request
completes it (contract v1.2, section 1, Faults). A forced interleaving: the session write throttled once."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from chalicelib.services.identity import sessions
from chalicelib.store.users import Claim, phone_claim
from tests.helpers.auth import start_registration
from tests.helpers.codes import last_code
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.users import PASSWORD, new_email, new_phone


@pytest.fixture
def session_write_throttled_once(monkeypatch):
    """The next session write fails as DynamoDB throttling past botocore's retries does."""
    original = sessions.start_session
    calls = {"failed": 0}

    def start_session(*args, **kwargs):
        if calls["failed"] == 0:
            calls["failed"] += 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")
        return original(*args, **kwargs)

    monkeypatch.setattr(sessions, "start_session", start_session)
    return calls


def test_a_registration_whose_session_write_failed_resumes_with_the_same_request(
    client, stage, session_write_throttled_once
):
    phone = new_phone()
    assert start_registration(client, phone).status_code == 202
    account = {
        "phone": phone,
        "code": last_code(phone),
        "email": new_email(),
        "password": PASSWORD,
        "display_name": "A",
    }
    failed = post_json(client, "/auth/register", account)
    assert_error(failed, 503, "try_again")
    owner = Claim.get(phone_claim(phone)).user_id  # the account was created before the 503

    other_password = post_json(client, "/auth/register", {**account, "password": "Quartz-Meadow-Lantern-57?"})
    assert_error(other_password, 422, "invalid_code")  # the spent code resumes only the same request
    done = post_json(client, "/auth/register", account)
    assert done.status_code == 201, done.body
    me = client.get("/me", headers={"Authorization": f"Bearer {body_of(done)['access_token']}"})
    assert body_of(me)["user_id"] == owner
    assert_error(post_json(client, "/auth/register", account), 422, "invalid_code")  # used up now


def test_a_right_password_whose_login_then_failed_busy_is_not_counted_toward_the_lockout(client, user, monkeypatch):
    from chalicelib.services.identity import lockout

    original = lockout.clear

    def throttled(*args, **kwargs):  # the first write after the right password
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem")

    monkeypatch.setattr(lockout, "clear", throttled)
    body = {"login": user["phone"], "password": user["password"], "device_id": "d1"}
    for _ in range(8):  # more than the 5 free failures
        assert_error(post_json(client, "/auth/login", body), 503, "try_again")
    monkeypatch.setattr(lockout, "clear", original)
    assert post_json(client, "/auth/login", body).status_code == 200  # not 423 account_locked
