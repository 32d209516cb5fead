"""The contract's password rules (NIST SP 800-63B): length, not common, not the user's own
contacts, zxcvbn score ≥ 3. No composition rules, no expiry.

A weak password raises `400 weak_password` whose reason says why (the message names it).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from chalicelib.adapters.phone_numbers import country_code
from chalicelib.errors import OkpayError

MIN_LENGTH = 8
MAX_LENGTH = 128
MIN_SCORE = 3
_COMMON_LIST = Path(__file__).with_name("data") / "common_passwords.txt"


def normalize_password(password: str) -> str:
    """NFKC, so the same password typed on any keyboard is the same string (NIST SP 800-63B)."""
    return unicodedata.normalize("NFKC", password)


def check_password(
    password: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    display_name: str | None = None,
    field: str = "password",
) -> None:
    text = normalize_password(password)
    if len(text) < MIN_LENGTH:
        raise _weak("too_short", field)
    if len(text) > MAX_LENGTH:
        raise _weak("too_long", field)
    lowered = text.lower()
    if lowered in _common_passwords():
        raise _weak("common", field)
    local_part = (email or "").split("@", 1)[0].lower()
    if len(local_part) >= 3 and local_part in lowered:
        raise _weak("contains_email", field)
    national = _national_number(phone)
    if national and national in text:
        raise _weak("contains_phone", field)
    from zxcvbn import zxcvbn  # deferred: heavy (zxcvbn ~25 ms of dictionaries)

    inputs = [value for value in (local_part, national, display_name, "okpay") if value]
    # zxcvbn's cost grows with length; its score is settled well before 100 characters.
    if zxcvbn(text[:100], user_inputs=inputs)["score"] < MIN_SCORE:
        raise _weak("guessable", field)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    lines = _COMMON_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _national_number(phone: str | None) -> str | None:
    if not phone:
        return None
    return phone[len(country_code(phone)) + 1 :]


def _weak(reason: str, field: str) -> OkpayError:
    return OkpayError("weak_password", field=field, reason=reason)
