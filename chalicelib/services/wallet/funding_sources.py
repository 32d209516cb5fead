"""Bank cards a user tops up from and withdraws to.

The card number is checked (Luhn), handed to the bank gateway for a token, and dropped: we keep
the token, the last four digits, the bank and the holder's name, plus a keyed hash of the number
so the same card cannot be added twice. Adding or removing a card needs the password and tells
both contacts.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from chalicelib.adapters import clock
from chalicelib.adapters.bank_gateway import gateway
from chalicelib.adapters.keys import keyed_hash
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import CARD_CHANGES, phrase
from chalicelib.services.common.names import normalize_name
from chalicelib.services.identity import notices, protection, reauth
from chalicelib.store.users import User, claim_once, find_claim_owner, release_claim
from chalicelib.store.wallet import FundingSource

_DIGITS = re.compile(r"^\d{12,19}$")


def card_claim(user_id: str, fingerprint: str) -> str:
    return f"card#{user_id}#{fingerprint}"


def public_view(source: FundingSource) -> dict:
    return {
        "funding_source_id": source.funding_source_id,
        "type": source.type,
        "last4": source.last4,
        "bank_name": source.bank_name,
        "holder_name": source.holder_name,
        "created_at": clock.isoformat(clock.from_stamp(source.created_at)),
    }


def add_card(
    user: User,
    card_number: str,
    holder_name: str,
    bank_name: str | None,
    password: str,
    now: datetime,
    *,
    session_id: str,
) -> dict:
    from stdnum import luhn  # deferred: heavy (python-stdnum ~8 ms; only adding a card)

    number = re.sub(r"[\s-]", "", card_number)
    if not _DIGITS.match(number) or not luhn.is_valid(number):
        raise OkpayError("validation_error", field="card_number", reason="format")
    holder = normalize_name(holder_name)
    if not holder:
        raise OkpayError("validation_error", field="holder_name", reason="missing")
    protection.refuse_if_frozen(user)  # right after validation (section 11)
    fingerprint = keyed_hash("card", number)
    if find_claim_owner(card_claim(user.user_id, fingerprint)):
        raise OkpayError("funding_source_exists")
    reauth.confirm_password(user, password, now, session_id=session_id)
    if not claim_once(card_claim(user.user_id, fingerprint), user.user_id, clock.stamp(now)):
        raise OkpayError("funding_source_exists")
    bound = gateway().bind_card(number, holder, bank_name)
    source = FundingSource(
        user.user_id,
        f"fs_{uuid.uuid4().hex}",
        token=bound.token,
        last4=bound.last4,
        bank_name=bound.bank_name,
        holder_name=holder,
        fingerprint=fingerprint,
        created_at=clock.stamp(now),
    )
    source.save()
    logger.info("card added", extra={"user_id": user.user_id, "event": "funding_source_added", "last4": bound.last4})
    detail = _detail("added", bound.last4, user.locale)
    notices.notify_security_event(user, "funding_source_changed", now, detail=detail)
    return public_view(source)


def list_cards(user_id: str) -> list[dict]:
    return [public_view(source) for source in FundingSource.query(user_id)]


def find_card(user_id: str, funding_source_id: str) -> FundingSource:
    try:
        return FundingSource.get(user_id, funding_source_id, consistent_read=True)
    except FundingSource.DoesNotExist:
        raise OkpayError("not_found") from None


def remove_card(user: User, funding_source_id: str, now: datetime) -> None:
    source = find_card(user.user_id, funding_source_id)
    source.delete()
    release_claim(card_claim(user.user_id, source.fingerprint), user.user_id)
    logger.info("card removed", extra={"user_id": user.user_id, "event": "funding_source_removed"})
    detail = _detail("removed", source.last4, user.locale)
    notices.notify_security_event(user, "funding_source_changed", now, detail=detail)


def _detail(change: str, last4: str, locale: str) -> str:
    return phrase(CARD_CHANGES, change, locale, last4=last4)
