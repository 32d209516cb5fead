"""Idempotency-Key: in flight (a marker, and a request really inside its handler), abandoned, the
canonical body (null is absent), the check order, and malformed keys on the transfer routes."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from chalicelib.adapters import clock
from chalicelib.services.common import idempotency
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.users import make_user, signed_in
from tests.helpers.wallet import add_card, balances, top_up


def hold_key(user_id, card, amount, key):
    """What an in-flight first request leaves behind: its marker, before its transaction commits."""
    body = {"funding_source_id": card, "amount": amount, "currency": "CNY"}
    held = idempotency.begin(user_id, "POST", "/me/topups", key, body, clock.now())
    assert isinstance(held, idempotency.Hold)
    return held


def test_the_same_key_while_the_first_is_in_flight_is_409(client, stage):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers)
    clock.set_test_clock(clock.now())
    hold_key(user.user_id, card, 700, "busy")
    assert_error(top_up(client, headers, card, 700, key="busy"), 409, "request_in_progress")
    assert_error(top_up(client, headers, card, 701, key="busy"), 422, "idempotency_key_reused")
    assert balances(client, headers)["CNY"] == 0


def test_a_marker_older_than_60_seconds_is_abandoned_and_the_retry_goes_through(client, stage):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers)
    clock.set_test_clock(clock.now())
    abandoned = hold_key(user.user_id, card, 700, "stale")
    clock.set_test_clock(clock.now() + timedelta(seconds=61))
    response = top_up(client, headers, card, 700, key="stale")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert balances(client, headers)["CNY"] == 700
    # The abandoned request cannot finish the key any more: the marker is no longer its own.
    idempotency.settle(abandoned, 201, None, {"late": True}, clock.now())
    replay = top_up(client, headers, card, 700, key="stale")
    assert replay.headers.get("Idempotent-Replayed") == "true" and body_of(replay) == body_of(response)


# --- the canonical body: null is the same as absent (contract, section 1) -------------------------


def test_a_null_optional_field_is_the_same_body_as_an_absent_one(client, seeded):
    from tests.wallet.test_payments import funded, pay

    _, headers = funded(client, 10_000)
    first = pay(client, headers, 1_000, ref="null-1", key="pay-null")
    assert first.status_code == 201, first.body
    again = pay(client, headers, 1_000, ref="null-1", key="pay-null", description=None, authorization=None)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true", again.body
    assert body_of(again) == body_of(first)
    assert balances(client, headers)["CNY"] == 9_000
    # and the other way round: null first, absent after
    second = pay(client, headers, 500, ref="null-2", key="pay-null-2", description=None)
    assert second.status_code == 201
    replay = pay(client, headers, 500, ref="null-2", key="pay-null-2")
    assert replay.headers.get("Idempotent-Replayed") == "true" and body_of(replay) == body_of(second)
    assert balances(client, headers)["CNY"] == 8_500
    # a real difference is still another body
    assert_error(
        pay(client, headers, 500, ref="null-2", key="pay-null-2", description="x"), 422, "idempotency_key_reused"
    )


def test_nested_nulls_are_absent_too(client, seeded):
    from tests.wallet.test_transfers import funded, send, verified

    payee, _ = verified()
    _, headers = funded(client, amount=5_000)
    first = send(client, headers, payee, 300, key="nested")
    assert first.status_code == 201, first.body
    payload = {"recipient": {"user_id": payee.user_id, "phone": None, "email": None}, "amount": 300}
    payload.update(currency="CNY", note=None)
    again = post_json(client, "/transfers", payload, {**headers, "Idempotency-Key": "nested"})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true", again.body
    assert body_of(again) == body_of(first)
    assert balances(client, headers)["CNY"] == 4_700


def test_a_reused_key_is_looked_up_before_the_body_is_validated(client, stage):
    headers = signed_in(make_user())
    card = add_card(client, headers)
    assert top_up(client, headers, card, 700, key="used").status_code == 201
    bad = {"funding_source_id": card, "amount": "700", "currency": "CNY"}
    keyed = {**headers, "Idempotency-Key": "used"}
    assert_error(post_json(client, "/me/topups", bad, keyed), 422, "idempotency_key_reused")
    assert_error(post_json(client, "/me/topups", b"not json", keyed), 422, "idempotency_key_reused")
    # a fresh key with the same bad body: the lookup finds nothing, then validation answers
    fresh = {**headers, "Idempotency-Key": "fresh"}
    assert_error(post_json(client, "/me/topups", bad, fresh), 400, "validation_error", field="amount")
    assert top_up(client, headers, card, 700, key="fresh").status_code == 201  # a 400 is not stored
    assert balances(client, headers)["CNY"] == 1_400


# --- a request really in flight ------------------------------------------------------------------


def test_the_same_key_while_the_first_is_inside_its_handler_is_409_and_a_third_replays(client, stage, monkeypatch):
    from chalicelib.services.wallet import topups as wallet_service

    headers = signed_in(make_user())
    card = add_card(client, headers)
    inside, release = threading.Event(), threading.Event()
    real_top_up = wallet_service.top_up

    def held_top_up(*args, **kwargs):
        inside.set()
        assert release.wait(30), "never released"
        return real_top_up(*args, **kwargs)

    monkeypatch.setattr(wallet_service, "top_up", held_top_up)
    first: dict = {}
    thread = threading.Thread(target=lambda: first.update(response=top_up(client, headers, card, 700, key="live")))
    thread.start()
    try:
        assert inside.wait(30), "the first request never reached its handler"
        assert_error(top_up(client, headers, card, 700, key="live"), 409, "request_in_progress")
        assert_error(top_up(client, headers, card, 701, key="live"), 422, "idempotency_key_reused")
    finally:
        release.set()
        thread.join(30)
    response = first["response"]
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers, response.body
    third = top_up(client, headers, card, 700, key="live")
    assert third.status_code == 201 and third.headers.get("Idempotent-Replayed") == "true"
    assert body_of(third) == body_of(response)
    assert balances(client, headers)["CNY"] == 700


# --- idempotency_key_required on the transfer routes --------------------------------------------

BAD_KEYS = {
    "empty": "",
    "256_chars": "k" * 256,
    "nul": "key\x00",
    "control": "key\x01",
    "tab": "key\tkey",
    "escape": "\x1b[31mkey",
    "del": "key\x7f",
    "non_ascii": "ключ",
}
TRANSFER_ROUTES = {
    "send": ("/transfers", {"recipient": {"user_id": "usr_someone"}, "amount": 100, "currency": "CNY"}),
    "confirm": ("/transfers/trf_unknown/confirm", {"code": "123456"}),
}


@pytest.mark.parametrize("route", TRANSFER_ROUTES.values(), ids=TRANSFER_ROUTES.keys())
def test_transfer_routes_need_an_idempotency_key(client, stage, route):
    path, payload = route
    headers = signed_in(make_user())
    assert_error(post_json(client, path, payload), 401, "unauthorized")  # 401 comes first
    assert_error(post_json(client, path, payload, headers), 400, "idempotency_key_required")
    # and before validation: a malformed body without a key is still about the key
    assert_error(post_json(client, path, {"ammount": 1}, headers), 400, "idempotency_key_required")


@pytest.mark.parametrize("route", TRANSFER_ROUTES.values(), ids=TRANSFER_ROUTES.keys())
@pytest.mark.parametrize("key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_transfer_routes_refuse_a_malformed_idempotency_key(client, stage, route, key):
    path, payload = route
    headers = signed_in(make_user())
    response = post_json(client, path, payload, {**headers, "Idempotency-Key": key})
    assert_error(response, 400, "idempotency_key_required", field="Idempotency-Key")


@pytest.mark.parametrize("route", TRANSFER_ROUTES.values(), ids=TRANSFER_ROUTES.keys())
def test_a_255_character_printable_key_is_accepted(client, seeded, route):
    path, payload = route
    headers = signed_in(make_user())
    key = "".join(chr(32 + n % 95) for n in range(255))  # every printable ASCII character, space included
    response = post_json(client, path, payload, {**headers, "Idempotency-Key": key})
    assert body_of(response)["error"]["code"] in {"kyc_required", "not_found"}, response.body
