"""Fixtures for the identity tests (registration, login, sessions, MFA, reset); helpers live in tests/helpers.

Everything goes through HTTP on the `client` fixture (chalice.test.Client, local stage, moto);
codes are read from the local outbox, exactly as a tester would with `GET /_local/outbox`.
"""

from __future__ import annotations

import itertools

import pytest

from chalicelib.adapters import clock
from tests.helpers.auth import register_user


@pytest.fixture
def user(client):
    """A registered account with a verified email: the register_user() dict."""
    return register_user(client)


@pytest.fixture
def distinct_codes(monkeypatch):
    """One-time codes that never repeat within a test, so "the old code no longer works" is always
    checked (two random codes are equal once in a million runs)."""
    from chalicelib.services import one_time_codes

    sequence = itertools.count(123_457)
    monkeypatch.setattr(one_time_codes, "new_code", lambda: f"{next(sequence) % 10**6:06d}")


@pytest.fixture
def frozen_clock(monkeypatch):
    """The app's clock stands still at now; only move_clock(seconds) moves it.

    A test clock that ran on would let a one-second lock window run out on a busy machine.
    (TOTP follows real time, as the contract says, and is not affected.)
    """
    state = {"now": clock.now()}
    monkeypatch.setattr(clock, "now", lambda: state["now"])
    monkeypatch.setattr(clock, "set_test_clock", lambda moment: state.update(now=moment.astimezone(clock.UTC)))
    return state["now"]
