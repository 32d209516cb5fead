"""A login identifier (phone or email) in the one form failures are counted and accounts found by."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.errors import OkpayError
from chalicelib.services.emails import normalize_email
from chalicelib.services.phones import normalize_phone
from chalicelib.store.users import User, email_claim, find_user_by_claim, phone_claim


@dataclass(frozen=True)
class LoginId:
    kind: str  # "phone" | "email" | "unknown"
    key: str  # E.164, lower-case email, or the trimmed, lower-cased text when it is neither

    def find_user(self) -> User | None:
        """The active account this identifies; email logins need a verified (claimed) email."""
        if self.kind == "unknown":
            return None
        claim = phone_claim(self.key) if self.kind == "phone" else email_claim(self.key)
        user = find_user_by_claim(claim)
        return user if user and user.status == "active" else None


def parse_login(raw: str) -> LoginId:
    text = raw.strip()
    try:
        if "@" in text:
            return LoginId("email", normalize_email(text))
        return LoginId("phone", normalize_phone(text))
    except OkpayError:
        # Not a valid phone or email: counted and answered like any unknown account.
        return LoginId("unknown", text.lower())
