"""Phone numbers: E.164 everywhere; a number without `+` is a mainland (+86) number."""

from __future__ import annotations

from chalicelib.errors import OkpayError


def normalize_phone(raw: str, *, field: str = "phone") -> str:
    """E.164 form of `raw`, or `400 validation_error` naming `field`."""
    import phonenumbers  # deferred: its metadata is large and most requests never need it

    text = raw.strip()
    region = None if text.startswith("+") else "CN"
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise OkpayError("validation_error", field=field, reason="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise OkpayError("validation_error", field=field, reason="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def country_code(e164: str) -> str:
    import phonenumbers

    return str(phonenumbers.parse(e164, None).country_code)


def sms_allowed(e164: str, allowed_country_codes: tuple[str, ...]) -> bool:
    """Whether we text this number (+86, +852, +853, +886 and any other configured codes)."""
    return country_code(e164) in allowed_country_codes


def mask_phone(e164: str) -> str:
    """+8613812345678 -> +86 138****5678, for notices and support screens."""
    code = country_code(e164)
    national = e164[len(code) + 1 :]
    if len(national) <= 4:
        return f"+{code} {national}"
    keep = 3 if len(national) >= 10 else 2
    return f"+{code} {national[:keep]}{'*' * (len(national) - keep - 4)}{national[-4:]}"
