"""The "this wasn't me" tokens of security notices (contract v1.2, section 11).

The email version of every new-device, password, contact and MFA change notice carries a line
"this wasn't me / 不是我本人操作" with a link `<help center>/freeze?token=<token>`; the help-center
page (or the app, which opens the same URL as a universal link) posts the token to
`POST /auth/freeze/link`, which freezes the account without signing in. The SMS version never
carries one (a text is easy to read over a shoulder, and a link in an SMS is how phishing looks).

A token is 256 random bits, stored only as a keyed hash (table `codes`, `freeze_link#<hash>`)
bound to its user, valid 7 days on the app's clock, and used once: redeeming deletes its record
with a condition that it is still there and not expired, so the same token sent twice at once
passes once. It is never logged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.adapters import clock
from chalicelib.adapters.config import get_settings
from chalicelib.adapters.keys import keyed_hash
from chalicelib.errors import OkpayError
from chalicelib.store.codes import Code
from chalicelib.store.conditions import condition_failed

LIFETIME = timedelta(days=7)
TOKEN_BYTES = 32  # 256 bits


@dataclass(frozen=True)
class Redeemed:
    """A token just used: whose account it freezes, and its record (to give back if the freeze failed)."""

    user_id: str
    record: Code


def issue(user_id: str, now: datetime) -> str:
    """A new token for `user_id` (the plain token, to put in one email; never stored or logged)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = now + LIFETIME
    Code(
        _record_id(token),
        code_hash="-",  # the key is the hash: nothing else to compare
        expires_at=clock.stamp(expires_at),
        expires_ttl=expires_at + timedelta(days=1),
        attempts=0,
        max_attempts=1,
        created_at=clock.stamp(now),
        user_id=user_id,
    ).save(condition=Code.code_id.does_not_exist())
    return token


def link_for(token: str) -> str:
    """The URL in the email's "this wasn't me" line: the help center's freeze page, which posts the token."""
    return f"{get_settings().help_center_url.rstrip('/')}/freeze?token={token}"


def redeem(token: str, now: datetime) -> Redeemed:
    """Use the token up; `422 invalid_token` when it is unknown, used, or expired."""
    record_id = _record_id(token.strip())
    try:
        record = Code.get(record_id, consistent_read=True)
    except Code.DoesNotExist:
        raise OkpayError("invalid_token") from None
    try:
        # Still there (not used by a request racing this one) and not expired: TTL deletion is lazy.
        record.delete(condition=Code.code_id.exists() & (Code.expires_at > clock.stamp(now)))
    except DeleteError as error:
        if condition_failed(error):
            raise OkpayError("invalid_token") from None
        raise
    if not record.user_id:
        raise OkpayError("invalid_token")
    return Redeemed(record.user_id, record)


def give_back(redeemed: Redeemed) -> None:
    """The freeze the token was used for did not happen (the store was busy): the token works again,
    so the user's retry is not refused as `invalid_token`."""
    try:
        redeemed.record.save(condition=Code.code_id.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise


def _record_id(token: str) -> str:
    return f"freeze_link#{keyed_hash('freeze_links', token)}"
