"""Customers and agents for the console's browser tests, made over real HTTP against the live stage
(a separate process: its outbox and tables are reached only through the API and /_local)."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from localstage.seed import AGENT2_EMAIL, AGENT2_PASSWORD, AGENT2_TOTP_SECRET
from tests.helpers.kyc import resident_id
from tests.helpers.mfa import next_totp
from tests.helpers.users import PASSWORD
from tests.helpers.wallet import CAFE, GOOD_CARD

_numbers = itertools.count(int(time.time()) % 10_000 * 1000)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


def call(base: str, method: str, path: str, body: Any = None, token: str | None = None, **headers: str) -> Reply:
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", "Accept-Language": "en", **headers}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, method=method, data=data, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return Reply(response.status, json.loads(raw) if raw else None, dict(response.headers))
    except urllib.error.HTTPError as error:
        raw = error.read()
        return Reply(error.code, json.loads(raw) if raw else None, dict(error.headers))


def ok(reply: Reply, *statuses: int) -> Any:
    assert reply.status in (statuses or (200, 201, 202, 204)), (reply.status, reply.body)
    return reply.body


def last_code(base: str, to: str) -> str:
    import re

    messages = ok(call(base, "GET", "/_local/outbox?to=" + urllib.parse.quote(to)))["data"]
    for message in messages:
        match = re.search(r"(?<!\d)(\d{6})(?!\d)", message["body"])
        if match:
            return match.group(1)
    raise AssertionError(f"no code sent to {to}: {messages}")


def register(base: str, display_name: str, locale: str = "en") -> dict:
    """A fresh customer with verified phone and email: the token body plus phone and email."""
    number = next(_numbers)
    phone, email = f"+86137{number:08d}", f"console{number}@example.com"
    ok(call(base, "POST", "/auth/register/start", {"phone": phone}))
    payload = {
        "phone": phone,
        "code": last_code(base, phone),
        "email": email,
        "password": PASSWORD,
        "display_name": display_name,
    }
    tokens = ok(call(base, "POST", "/auth/register", payload, **{"Accept-Language": locale}))
    ok(
        call(
            base,
            "POST",
            "/me/contacts/verify",
            {"channel": "email", "code": last_code(base, email)},
            tokens["access_token"],
        )
    )
    return {**tokens, "phone": phone, "email": email}


def agent_sign_in(base: str, email: str, password: str, secret: str) -> str:
    """An agent's access token: password, then the MFA challenge answered with TOTP."""
    challenge = ok(call(base, "POST", "/auth/login", {"login": email, "password": password, "device_id": "tests"}))
    body = {"mfa_token": challenge["mfa_token"], "method": "totp", "code": next_totp(secret)}
    return ok(call(base, "POST", "/auth/mfa/verify", body))["access_token"]


def second_agent(base: str) -> str:
    return agent_sign_in(base, AGENT2_EMAIL, AGENT2_PASSWORD, AGENT2_TOTP_SECRET)


def submit_kyc(base: str, token: str, birth_year: int = 1990, sequence: str = "001", real_name: str = "张三") -> None:
    from datetime import date

    number = resident_id(date(birth_year, 3, 7), sequence=sequence)
    payload = {"real_name": real_name, "id_type": "cn_resident_id", "id_number": number}
    ok(call(base, "POST", "/me/kyc", payload, token), 202)


def approve_kyc(base: str, agent_token: str, user_id: str, level: int = 1) -> None:
    ok(call(base, "POST", f"/admin/kyc/{user_id}/decision", {"decision": "approve", "level": level}, agent_token))


def paying_customer(
    base: str, agent_token: str, display_name: str, amount: int = 8_800, level: int = 1
) -> tuple[dict, str]:
    """A verified customer who topped up and paid the café: (tokens, the payment's transaction id)."""
    user = register(base, display_name)
    submit_kyc(base, user["access_token"], sequence=f"{next(_numbers) % 1000:03d}")
    approve_kyc(base, agent_token, user["user_id"], level)
    card = {"type": "bank_card", "card_number": GOOD_CARD, "holder_name": "张三", "password": PASSWORD}
    source = ok(call(base, "POST", "/me/funding-sources", card, user["access_token"]))["funding_source_id"]
    topup = {"funding_source_id": source, "amount": max(50_000, amount), "currency": "CNY"}
    ok(call(base, "POST", "/me/topups", topup, user["access_token"], **{"Idempotency-Key": uuid.uuid4().hex}))
    payment = {
        "merchant_id": CAFE,
        "amount": amount,
        "currency": "CNY",
        "order_reference": uuid.uuid4().hex,
        "authorization": {"password": PASSWORD},  # past the day's step-up budget
    }
    key = {"Idempotency-Key": uuid.uuid4().hex}
    paid = ok(call(base, "POST", "/payments", payment, user["access_token"], **key))
    return user, paid["transaction_id"]


def file_dispute(base: str, token: str, transaction_id: str, reason: str = "not_received", text: str = "") -> dict:
    payload = {
        "transaction_id": transaction_id,
        "reason": reason,
        "description": text or "I paid but the order never came.",
    }
    return ok(call(base, "POST", "/disputes", payload, token), 201)


def open_ticket(base: str, token: str, subject: str, body: str, category: str = "account") -> dict:
    payload = {"subject": subject, "body": body, "category": category}
    return ok(call(base, "POST", "/support/tickets", payload, token), 201)


def open_chat(base: str, token: str, body: str, category: str = "transfer") -> dict:
    return ok(call(base, "POST", "/support/chats", {"body": body, "category": category}, token), 201)


def id_card_png(width: int = 320, height: int = 200) -> bytes:
    """A small PNG that looks like an ID card scan (a photo box and text lines), made without Pillow."""
    import struct
    import zlib

    def pixel(x: int, y: int) -> bytes:
        if 20 <= x < 110 and 40 <= y < 160:
            return b"\x9a\xa8\xbf"  # the photo
        if 130 <= x < 300 and any(top <= y < top + 10 for top in (50, 80, 110, 140)) and x < 300 - (y % 3) * 30:
            return b"\x5b\x66\x7a"  # text lines
        if y < 24:
            return b"\x1d\x4e\xa8"  # the header band
        return b"\xe9\xf0\xfb"

    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def upload_document(base: str, token: str, kind: str = "id_front") -> str:
    """A document uploaded the way the app does it (pre-signed S3 POST); its id."""
    import requests

    document = ok(call(base, "POST", "/me/kyc/documents", {"kind": kind, "content_type": "image/png"}, token), 201)
    upload = document["upload"]
    sent = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("scan.png", id_card_png(), "image/png")}, timeout=30
    )
    assert sent.status_code in (200, 201, 204), sent.text
    return document["document_id"]


def submit_passport(base: str, token: str, real_name: str, number: str, document_ids: list[str]) -> None:
    payload = {
        "real_name": real_name,
        "id_type": "passport",
        "id_number": number,
        "nationality": "HK",
        "birth_date": "1991-08-14",
        "document_ids": document_ids,
    }
    ok(call(base, "POST", "/me/kyc", payload, token), 202)
