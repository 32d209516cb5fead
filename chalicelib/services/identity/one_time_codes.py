"""Six-digit one-time codes: issued hashed with an expiry, checked with an attempt limit, used once.

Every comparison is counted first, with an update conditioned on the code being live and under
its cap, and a right code is used up with a conditional delete: however many requests race, a code
is compared at most 5 times and passes at most once (contract v1.2, section 1). Issuing a new code for the
same purpose keeps the attempts already spent: asking again does not buy more guesses.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError

from chalicelib.adapters import aws, clock
from chalicelib.adapters.keys import keyed_hash
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.store.codes import Code
from chalicelib.store.conditions import condition_failed

MAX_ATTEMPTS = 5
ISSUE_ROUNDS = 5


@dataclass(frozen=True)
class IssuedCode:
    code: str  # the plain code, to send; never stored or logged
    expires_at: datetime


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def issue(
    code_id: str,
    *,
    lifetime: timedelta,
    now: datetime,
    user_id: str | None = None,
    data: dict[str, Any] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> IssuedCode | None:
    """A fresh code for `code_id`; None when its attempts are used up (wait for it to expire).

    The attempts already spent carry over, written with a condition that nobody counted one since
    they were read: a resend racing guesses can never hand back tries that were used.
    """
    for _ in range(ISSUE_ROUNDS):
        existing = _live(code_id, now)
        attempts = int(existing.attempts) if existing else 0
        if attempts >= max_attempts:
            return None
        code = new_code()
        expires_at = now + lifetime
        unchanged = (
            Code.attempts == existing.attempts
            if existing
            else Code.code_id.does_not_exist() | (Code.expires_at <= clock.stamp(now))
        )
        try:
            Code(
                code_id,
                code_hash=_hash(code_id, code),
                expires_at=clock.stamp(expires_at),
                expires_ttl=expires_at + timedelta(hours=1),
                attempts=attempts,
                max_attempts=max_attempts,
                sends=(existing.sends + 1) if existing else 1,
                created_at=clock.stamp(now),
                user_id=user_id,
                data=data,
            ).save(condition=unchanged)
        except PutError as error:
            if not condition_failed(error):
                raise
            continue  # a guess was counted meanwhile: read the attempts again
        return IssuedCode(code, expires_at)
    return None  # guesses are arriving faster than we can issue: no new code now


def check(code_id: str, code: str, *, now: datetime, consume: bool = True) -> Code:
    """The code's record when `code` is right; else `422 invalid_code` with attempts_left.

    The attempt is counted before the comparison (`reserve_attempt`), so however many requests
    arrive at once a code is compared at most `max_attempts` times. With consume=False a right code
    stays usable: the caller uses it up in its own transaction (`Code.code_hash == record.code_hash`)
    or with `use_up`, e.g. a reset that still needs its second factor.
    """
    record = reserve_attempt(code_id, now)
    if not hmac.compare_digest(record.code_hash, _hash(code_id, code)):
        raise _invalid(attempts_left(record))
    if consume:
        use_up(record)
    return record


def reserve_attempt(code_id: str, now: datetime) -> Code:
    """Count one comparison of a live code, conditionally under its cap; else `422 invalid_code`.

    Returns the record as the update left it (ALL_NEW: the current hash and the attempts counted).
    """
    record = Code(code_id)
    try:
        record.update(
            actions=[Code.attempts.add(1)],
            condition=Code.code_id.exists()
            & (Code.attempts < Code.max_attempts)
            & (Code.expires_at > clock.stamp(now)),  # TTL deletion is lazy: expiry is checked here
        )
    except UpdateError as error:
        if condition_failed(error):
            raise _invalid(0) from None
        raise
    return record


@contextmanager
def kept_if_busy(record: Code) -> Iterator[None]:
    """Around the work that follows a right code: if it fails only because AWS was busy (the request
    answers 503 try_again), the code is left as before this try, its attempt given back or, when it
    was used up already, put back; so the user's retry with the same code works (section 1,
    Faults). Only a right code gets here: no guess is ever refunded."""
    try:
        yield
    except Exception as error:
        if aws.is_busy(error) or (isinstance(error, OkpayError) and error.code == "try_again"):
            try:
                _put_back(record)
            except Exception:  # the 503 stands; the user asks for a new code
                logger.exception("code not put back after a busy failure")
        raise


def _put_back(record: Code) -> None:
    try:
        record.update(
            actions=[Code.attempts.add(-1)], condition=(Code.code_hash == record.code_hash) & (Code.attempts > 0)
        )
        return
    except UpdateError as error:
        if not condition_failed(error):
            raise
    record.attempts = max(0, int(record.attempts) - 1)
    try:  # used up before the work failed: back as it was, unless a new code took its place
        record.save(condition=Code.code_id.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise


def attempts_left(record: Code) -> int:
    return max(0, int(record.max_attempts) - int(record.attempts))


def use_up(record: Code) -> None:
    """Delete the code if it is still the one checked; a concurrent user of it gets invalid_code."""
    try:
        record.delete(condition=Code.code_hash == record.code_hash)
    except DeleteError as error:
        if condition_failed(error):
            raise _invalid(0) from None
        raise


def discard(code_id: str) -> None:
    Code(code_id).delete()


def _live(code_id: str, now: datetime) -> Code | None:
    try:
        record = Code.get(code_id, consistent_read=True)
    except Code.DoesNotExist:
        return None
    # TTL deletion is lazy (up to days), so expiry is checked here against the clock.
    if datetime.fromisoformat(record.expires_at) <= now:
        return None
    return record


def _hash(code_id: str, code: str) -> str:
    return keyed_hash("codes", f"{code_id}:{code.strip()}")


def _invalid(attempts_left: int) -> OkpayError:
    return OkpayError("invalid_code", details={"attempts_left": attempts_left})
