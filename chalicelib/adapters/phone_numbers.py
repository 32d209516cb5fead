"""E.164 phone numbers through `phonenumbers` (libphonenumber's metadata): parse and format a number,
read its country calling code, mask it for logs and support screens.

No business rules here: which region a number without `+` belongs to, and what the API answers for
a number that is not valid, are chalicelib.services.common.phones's; which countries we text is
chalicelib.adapters.notify's.
"""

from __future__ import annotations


def to_e164(text: str, default_region: str | None) -> str | None:
    """`text` in E.164 form (a number without `+` is read in `default_region`); None when it is not
    a valid number."""
    import phonenumbers  # deferred: heavy (phonenumbers ~20 ms of metadata)

    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def country_code(e164: str) -> str:
    """The country calling code of an E.164 number, without `+`: "+8613812345678" -> "86"."""
    import phonenumbers  # deferred: heavy (phonenumbers ~20 ms of metadata)

    return str(phonenumbers.parse(e164, None).country_code)


def mask_phone(e164: str) -> str:
    """+8613812345678 -> +86 138****5678, for logs, notices and support screens."""
    code = country_code(e164)
    national = e164[len(code) + 1 :]
    if len(national) <= 4:
        return f"+{code} {national}"
    keep = 3 if len(national) >= 10 else 2
    return f"+{code} {national[:keep]}{'*' * (len(national) - keep - 4)}{national[-4:]}"
