"""Authenticator-app codes (TOTP, RFC 6238, 30 s steps) and single-use recovery codes.

TOTP follows real time, not the test clock: the phone's authenticator app does. A code is
accepted within ±1 step and only once: the accepted step is stored with a conditional write, so
two requests with the same code cannot both pass.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import pyotp
from pynamodb.exceptions import UpdateError

from chalicelib.adapters import clock
from chalicelib.adapters.field_crypto import decrypt_field, encrypt_field
from chalicelib.adapters.keys import keyed_hash
from chalicelib.store.conditions import condition_failed
from chalicelib.store.users import User

STEP_SECONDS = 30
RECOVERY_CODES = 10
ISSUER = "Okpay"
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_secret() -> str:
    return pyotp.random_base32()


def seal_secret(user_id: str, secret: str) -> str:
    return encrypt_field(secret, {"field": "totp_secret", "user_id": user_id})


def open_secret(user_id: str, sealed: str) -> str:
    return decrypt_field(sealed, {"field": "totp_secret", "user_id": user_id})


def provisioning_uri(secret: str, account_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=ISSUER)


def matching_step(secret: str, code: str, at: datetime | None = None) -> int | None:
    """The time step (±1 around now) whose code is `code`, else None."""
    code = code.strip()
    if not (len(code) == 6 and code.isdigit()):
        return None
    moment = (at or clock.real_now()).timestamp()
    totp = pyotp.TOTP(secret)
    current = int(moment // STEP_SECONDS)
    for step in (current, current - 1, current + 1):
        if secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def accept_totp(user: User, code: str) -> bool:
    """True once per code: checks it against the user's active secret and records its step."""
    if not user.totp_secret:
        return False
    step = matching_step(open_secret(user.user_id, user.totp_secret), code)
    if step is None:
        return False
    try:
        user.update(
            actions=[User.totp_last_step.set(step)],
            condition=User.totp_last_step.does_not_exist() | (User.totp_last_step < step),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False  # this code (or a later one) was already used
        raise
    return True


def new_recovery_codes() -> tuple[list[str], set[str]]:
    """Ten codes like `k7mq-x2pd` to show once, and the keyed hashes to store."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        codes.append(f"{raw[:4]}-{raw[4:]}")
    return codes, {recovery_hash(code) for code in codes}


def recovery_hash(code: str) -> str:
    return keyed_hash("recovery", code.strip().lower().replace("-", "").replace(" ", ""))


def use_recovery_code(user: User, code: str) -> bool:
    """Remove the code from the user's set; a code already used (or racing) fails the condition."""
    hashed = recovery_hash(code)
    if hashed not in (user.recovery_code_hashes or set()):
        return False
    try:
        user.update(
            actions=[User.recovery_code_hashes.delete({hashed})],
            condition=User.recovery_code_hashes.contains(hashed),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True
