"""Inbound support mail for the email tests: the .eml fixtures in tests/support/mail/, rewritten per test,
fed through `POST /_local/inbound-email`, and the people and reads the tests share."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from chalicelib.store.users import User, claim_once, email_claim
from tests.helpers.http import body_of, post_json
from tests.helpers.users import make_user

MAIL = Path(__file__).parent / "mail"
SUPPORT = "support@okpay.local"


def eml(name: str, **headers: str) -> str:
    """A fixture with headers replaced (or added at the top): `Message_ID="<…>"`, `From="…"`, `In_Reply_To=…`."""
    text = (MAIL / name).read_text(encoding="ascii")
    for key, value in headers.items():
        header = key.replace("_", "-")
        pattern = re.compile(rf"^{re.escape(header)}:.*(?:\r\n[ \t].*)*$", re.IGNORECASE | re.MULTILINE)
        if pattern.search(text):
            text = pattern.sub(lambda _, line=f"{header}: {value}": line, text, count=1)
        else:
            text = f"{header}: {value}\r\n{text}"
    return text


def mail(
    sender: str,
    text: str = "My transfer has not arrived.",
    *,
    subject: str = "Transfer not received",
    to: str = SUPPORT,
    message_id: str | None = None,
    headers: str = "",
) -> str:
    """A plain UTF-8 mail; a fresh Message-ID unless one is given (`""`: none at all)."""
    if message_id is None:
        message_id = f"<{uuid.uuid4().hex}@mail.example.com>"
    mid = f"Message-ID: {message_id}\r\n" if message_id else ""
    return (
        f"From: Customer <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n{mid}{headers}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
        f"{text}\r\n"
    )


def inbound(client, raw: str, verdicts: dict | None = None) -> dict:
    payload: dict = {"raw": raw}
    if verdicts is not None:
        payload["verdicts"] = verdicts
    response = post_json(client, "/_local/inbound-email", payload)
    assert response.status_code == 200, response.body
    return body_of(response)


def owner(locale: str = "en") -> User:
    """A customer whose email is verified and claimed, as sign-up leaves it."""
    user = make_user(locale=locale)
    assert claim_once(email_claim(user.email), user.user_id, user.created_at)
    return user


def agent_case(client, agent_headers, ticket_id: str) -> dict:
    response = client.get(f"/admin/tickets/{ticket_id}", headers=agent_headers)
    assert response.status_code == 200, response.body
    return body_of(response)
