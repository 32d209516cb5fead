"""A login identifier (phone or email) in the one form failures are counted and accounts found by."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.errors import OkpayError
from chalicelib.services.common.emails import normalize_email
from chalicelib.services.common.phones import normalize_phone
from chalicelib.store.users import User, email_claim, find_claim_owner, get_user, phone_claim

# Read in place of a user when the login names no account (never created: `usr_` ids are hex).
_NO_USER = "usr_none"


@dataclass(frozen=True)
class LoginId:
    kind: str  # "phone" | "email" | "unknown"
    key: str  # E.164, lower-case email, or the trimmed, lower-cased text when it is neither

    def find_user(self) -> User | None:
        """The open account this identifies (a frozen one still signs in, section 11); email logins
        need a verified (claimed) email.

        Makes the same two reads (claim, user) whether or not an account exists, so an unknown
        login costs what a known one does (login answers both alike, in about the same time).
        """
        if self.kind == "phone":
            claim = phone_claim(self.key)
        elif self.kind == "email":
            claim = email_claim(self.key)
        else:
            claim = f"none#{self.key}"
        owner = find_claim_owner(claim)
        user = get_user(owner or _NO_USER)
        return user if owner and user and user.status != "closed" else None


def parse_login(raw: str) -> LoginId:
    text = raw.strip()
    try:
        if "@" in text:
            return LoginId("email", normalize_email(text))
        return LoginId("phone", normalize_phone(text))
    except OkpayError:
        # Not a valid phone or email: counted and answered like any unknown account.
        return LoginId("unknown", text.lower())
