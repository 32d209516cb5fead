"""Idempotency-Key while the first request is still in flight, and after it was abandoned."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.adapters import clock
from chalicelib.services import idempotency
from tests.api.helpers import assert_error, body_of
from tests.wallet.conftest import add_card, balances, make_user, top_up


def hold_key(user_id, card, amount, key):
    """What an in-flight first request leaves behind: its marker, before its transaction commits."""
    body = {"funding_source_id": card, "amount": amount, "currency": "CNY"}
    held = idempotency.begin(user_id, "POST", "/me/topups", key, body, clock.now())
    assert isinstance(held, idempotency.Slot)
    return held


def test_the_same_key_while_the_first_is_in_flight_is_409(client, stage):
    user, headers = make_user()
    card = add_card(client, headers)
    clock.set_test_clock(clock.now())
    hold_key(user.user_id, card, 700, "busy")
    assert_error(top_up(client, headers, card, 700, key="busy"), 409, "request_in_progress")
    assert_error(top_up(client, headers, card, 701, key="busy"), 422, "idempotency_key_reused")
    assert balances(client, headers)["CNY"] == 0


def test_a_marker_older_than_60_seconds_is_abandoned_and_the_retry_goes_through(client, stage):
    user, headers = make_user()
    card = add_card(client, headers)
    clock.set_test_clock(clock.now())
    abandoned = hold_key(user.user_id, card, 700, "stale")
    clock.set_test_clock(clock.now() + timedelta(seconds=61))
    response = top_up(client, headers, card, 700, key="stale")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert balances(client, headers)["CNY"] == 700
    # The abandoned request cannot finish the key any more: the marker is no longer its own.
    idempotency.store(abandoned, 201, {"late": True}, clock.now())
    replay = top_up(client, headers, card, 700, key="stale")
    assert replay.headers.get("Idempotent-Replayed") == "true" and body_of(replay) == body_of(response)
