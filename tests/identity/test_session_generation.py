"""Revoking every session does not depend on the lagging GSI by_user (issue 10, item 6).

Each session carries the user's session generation from when it started; "revoke all" bumps the
user's generation, so a session the index has not listed yet (started a moment before a password
reset, say) is refused all the same. `lagging_index` makes GSI by_user leave out the sessions named,
as the real index can for a moment after a write (moto's index never lags).
"""

from __future__ import annotations

import threading
import time

import pytest

from chalicelib.store.sessions import Session
from chalicelib.store.users import User
from tests.helpers.auth import login_tokens, me, refresh, register_user
from tests.helpers.codes import last_code
from tests.helpers.http import assert_error, auth, body_of, post_json
from tests.helpers.mfa import forgot, reset
from tests.helpers.parallel import run_together
from tests.helpers.users import PASSWORD

NEW_PASSWORD = "Saffron-Kettle-Drift-88"


@pytest.fixture
def lagging_index(monkeypatch):
    """Session ids GSI by_user does not list yet (add to the set)."""
    hidden: set[str] = set()
    listed = Session.by_user.query

    def query(*args, **kwargs):
        return (session for session in listed(*args, **kwargs) if session.session_id not in hidden)

    monkeypatch.setattr(Session.by_user, "query", query)
    return hidden


def assert_signed_out(client, tokens) -> None:
    assert_error(me(client, tokens["access_token"]), 401, "unauthorized")
    assert_error(refresh(client, tokens["refresh_token"]), 401, "invalid_refresh_token")


def listed_sessions(client, tokens) -> list[str]:
    response = client.get("/me/sessions", headers=auth(tokens["access_token"]))
    assert response.status_code == 200, response.body
    return [item["session_id"] for item in body_of(response)["data"]]


# --- a session the index has not listed yet ---------------------------------------------------


def test_a_session_started_a_moment_before_a_reset_does_not_survive_it(client, user, lagging_index):
    moment_before = login_tokens(client, user["phone"], device_id="thief")
    lagging_index.add(moment_before["session_id"])
    assert forgot(client, user["phone"]).status_code == 202
    assert reset(client, user["phone"], last_code(user["phone"]), NEW_PASSWORD).status_code == 204
    assert_signed_out(client, moment_before)
    assert_signed_out(client, user)
    fresh = login_tokens(client, user["phone"], NEW_PASSWORD, device_id="owner")
    assert me(client, fresh["access_token"]).status_code == 200
    lagging_index.clear()  # the index catches up: the device list does not show the dead session
    assert listed_sessions(client, fresh) == [fresh["session_id"]]


def test_signing_out_everywhere_else_reaches_a_session_the_index_missed(client, user, lagging_index):
    missed = login_tokens(client, user["phone"], device_id="new-tablet")
    lagging_index.add(missed["session_id"])
    assert client.delete("/me/sessions", headers=auth(user["access_token"])).status_code == 204
    assert_signed_out(client, missed)
    # the current session was carried over to the new generation, and its tokens keep working
    assert me(client, user["access_token"]).status_code == 200
    pair = body_of(refresh(client, user["refresh_token"]))
    assert me(client, pair["access_token"]).status_code == 200
    lagging_index.clear()
    assert listed_sessions(client, pair) == [user["session_id"]]


def test_a_password_change_keeps_only_the_current_session(client, user, lagging_index):
    missed = login_tokens(client, user["phone"], device_id="new-tablet")
    lagging_index.add(missed["session_id"])
    payload = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    response = post_json(client, "/me/password", payload, auth(user["access_token"]))
    assert response.status_code == 204, response.body
    assert_signed_out(client, missed)
    assert me(client, user["access_token"]).status_code == 200


def test_closing_the_account_reaches_a_session_the_index_missed(client, user, lagging_index):
    missed = login_tokens(client, user["phone"], device_id="new-tablet")
    lagging_index.add(missed["session_id"])
    response = post_json(client, "/me/close", {"password": PASSWORD}, auth(user["access_token"]))
    assert response.status_code == 204, response.body
    assert_signed_out(client, missed)
    assert_signed_out(client, user)


def test_a_sign_in_that_read_the_account_before_a_reset_is_outdated_by_it(client, user):
    """A login racing a reset: it read the account (generation) before the reset committed and
    writes its session after; that session is refused like every older one."""
    from chalicelib.adapters import clock
    from chalicelib.services.identity import sessions

    read_before = User.get(user["user_id"])
    sessions.revoke_all(user["user_id"], reason="password_reset")
    late = sessions.start_session(read_before, device_id="racer", device_name=None, now=clock.now())
    assert_signed_out(client, {"access_token": late.access_token, "refresh_token": late.refresh_token})
    fresh = sessions.start_session(User.get(user["user_id"]), device_id="d", device_name=None, now=clock.now())
    assert me(client, fresh.access_token).status_code == 200


def test_a_rotated_refresh_token_of_an_outdated_session_fails(client, user):
    other = login_tokens(client, user["phone"], device_id="tablet")
    rotated = body_of(refresh(client, other["refresh_token"]))
    assert client.delete("/me/sessions", headers=auth(user["access_token"])).status_code == 204
    assert_signed_out(client, rotated)
    # the token it replaced is not a way back in either (within the 30 s retry window or not)
    assert refresh(client, other["refresh_token"]).status_code == 401


def test_revoking_all_does_not_touch_other_users(client, user):
    other = register_user(client, verify_email=False)
    assert client.delete("/me/sessions", headers=auth(user["access_token"])).status_code == 204
    assert me(client, other["access_token"]).status_code == 200
    assert User.get(other["user_id"]).session_generation is None


def test_an_outdated_session_is_never_carried_over(client, user):
    """Two devices sign out everywhere else at once: whichever ran second was itself revoked by the
    first, so it is not carried to the new generation (a revoked session is never revived)."""
    other = login_tokens(client, user["phone"], device_id="tablet")
    results = run_together(
        lambda: client.delete("/me/sessions", headers=auth(user["access_token"])),
        lambda: client.delete("/me/sessions", headers=auth(other["access_token"])),
    )
    assert {r.status_code for r in results} <= {204, 401}
    alive = [t for t in (user, other) if me(client, t["access_token"]).status_code == 200]
    assert len(alive) <= 1


# --- concurrency --------------------------------------------------------------------------------


@pytest.mark.parametrize("index_lags", [False, True], ids=["index-current", "index-lagging"])
def test_after_revoke_all_returns_every_request_of_the_session_is_401(client, user, lagging_index, index_lags):
    target = login_tokens(client, user["phone"], device_id="target")
    if index_lags:
        lagging_index.add(target["session_id"])
    revoked = threading.Event()
    returned_at: list[float] = []
    seen: list[tuple[float, int]] = []  # (when the request started, its status)

    def burst() -> None:
        for _ in range(300):
            started = time.perf_counter()
            status = me(client, target["access_token"]).status_code
            seen.append((started, status))
            if revoked.is_set() and sum(1 for t, _ in seen if t > returned_at[0]) >= 6:
                return

    def revoke_all() -> int:
        status = client.delete("/me/sessions", headers=auth(user["access_token"])).status_code
        returned_at.append(time.perf_counter())
        revoked.set()
        return status

    results = run_together(burst, burst, burst, revoke_all)
    assert results[3] == 204
    assert {status for _, status in seen} <= {200, 401}
    later = [status for started, status in seen if started > returned_at[0]]
    assert later and set(later) == {401}, later
    assert_signed_out(client, target)
    assert me(client, user["access_token"]).status_code == 200
