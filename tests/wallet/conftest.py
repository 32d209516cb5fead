"""Wallet test helpers: signed-in users with a password, cards, top-ups."""

from __future__ import annotations

import itertools
import json
import uuid

from chalicelib.adapters import clock
from chalicelib.services import sessions
from chalicelib.services.passwords import hash_password
from chalicelib.store.users import User
from tests.api.helpers import body_of, post_json

PASSWORD = "Plum-Orbit-Canvas-93!"
GOOD_CARD = "6222021234567890128"
DECLINED_CARD = "4000000000000002"
NO_FUNDS_CARD = "4000000000009995"
_ids = itertools.count(1)


def make_user(locale: str = "en") -> tuple[User, dict[str, str]]:
    n = next(_ids)
    user = User(
        f"usr_wal{n:04d}",
        created_at=clock.stamp(clock.now()),
        phone=f"+86136{n:08d}",
        phone_verified=True,
        email=f"wallet{n}@example.com",
        email_verified=True,
        locale=locale,
        password_hash=hash_password(PASSWORD),
    )
    user.save()
    token = sessions.start_session(user, device_id="d", device_name=None, now=clock.now()).access_token
    return user, {"Authorization": f"Bearer {token}"}


def add_card(client, headers, number=GOOD_CARD, holder="张三"):
    payload = {"type": "bank_card", "card_number": number, "holder_name": holder, "password": PASSWORD}
    response = post_json(client, "/me/funding-sources", payload, headers)
    assert response.status_code == 201, response.body
    return body_of(response)["funding_source_id"]


def top_up(client, headers, card_id, amount, currency="CNY", key=None):
    payload = {"funding_source_id": card_id, "amount": amount, "currency": currency}
    return post_json(client, "/me/topups", payload, {**headers, "Idempotency-Key": key or uuid.uuid4().hex})


def balances(client, headers) -> dict[str, int]:
    body = json.loads(client.get("/me/wallet", headers=headers).body)
    return {item["currency"]: item["available"] for item in body["balances"]}
