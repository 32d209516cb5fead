"""Identity documents' numbers: GB 11643 resident ID numbers and passports; the age rule."""

from __future__ import annotations

import re
from datetime import date

from chalicelib.errors import OkpayError

ADULT_AGE = 18
_PASSPORT = re.compile(r"^[A-Z0-9]{6,9}$")


def check_resident_id(number: str, today: date) -> tuple[str, date]:
    """The compact number and birth date of a valid resident ID (check digit, real date, region)."""
    from stdnum import exceptions  # deferred: heavy (python-stdnum ~9 ms)
    from stdnum.cn import ric  # deferred: heavy (python-stdnum ~9 ms)

    try:
        compact = ric.validate(number)
        birth = ric.get_birth_date(compact)
    except exceptions.ValidationError:
        raise OkpayError("invalid_id_number", field="id_number") from None
    if birth > today:
        raise OkpayError("invalid_id_number", field="id_number")
    return compact, birth


def check_passport(number: str) -> str:
    compact = re.sub(r"[\s-]", "", number).upper()
    if not _PASSPORT.match(compact):
        raise OkpayError("invalid_id_number", field="id_number")
    return compact


def check_nationality(code: str) -> str:
    import phonenumbers  # deferred: heavy (phonenumbers ~20 ms); its regions are ISO 3166-1

    upper = code.strip().upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise OkpayError("validation_error", field="nationality", reason="choice")
    return upper


def eighteenth_birthday(birth: date) -> date:
    try:
        return birth.replace(year=birth.year + ADULT_AGE)
    except ValueError:  # born on 29 February: of age on 1 March in a common year
        return date(birth.year + ADULT_AGE, 3, 1)


def ensure_adult(birth: date, today: date) -> None:
    """Of age on the 18th birthday itself, not a day before (Asia/Shanghai date)."""
    if today < eighteenth_birthday(birth):
        raise OkpayError("underage")
