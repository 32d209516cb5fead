"""Phone numbers as users give them: E.164 everywhere; a number without `+` is a mainland (+86) number."""

from __future__ import annotations

from chalicelib.adapters.phone_numbers import to_e164
from chalicelib.errors import OkpayError

MAINLAND = "CN"  # the region of a number given without `+`


def normalize_phone(raw: str, *, field: str = "phone") -> str:
    """E.164 form of `raw`, or `400 validation_error` naming `field`."""
    text = raw.strip()
    e164 = to_e164(text, None if text.startswith("+") else MAINLAND)
    if e164 is None:
        raise OkpayError("validation_error", field=field, reason="phone")
    return e164
