"""A user's wallet: balances per currency, the level's limit, and top-ups from a card.

A top-up is recorded before the card is charged, so no charge is ever without a trace:

1. TW{Put `transactions[top_…]` (`pending`, a bank reference of its own, the user, the card's
   token, amount, currency, the idempotency record), Put `idempotency[<record>#topup]` → the
   attempt (absent, expired after 24 h, or pointing at a `failed` attempt)}.
2. The charge, under the attempt's reference (the bank takes at most one charge per reference).
3. Approved: the ledger posting, the attempt → `completed` (condition: still `pending`) and the
   idempotency record, in ONE TransactWriteItems; the header id is derived from the attempt, so
   nothing can post it twice. Declined: the attempt → `declined`, `402` as before.
   No answer (`GatewayTimeout`) or a failure after the charge: the attempt stays `pending` and
   the request answers `503 try_again` (not stored: the key stays usable).

A retry with the same key finds the attempt through `idempotency[<record>#topup]` and asks the
bank (`lookup_charge`) instead of charging: approved → posted (step 3), declined → `402`; no charge
at all → the charge is sent again under the same reference, but only once the last send is older
than `RESEND_AFTER` (before that, a send may still be on its way: `503`). An attempt nobody
retries is settled by the `topup_settle` job once `settle_due` (last send + `SETTLE_AFTER`) has
passed: approved → posted, declined → `declined`, no charge → `failed` (nothing was taken). Every
settling write is conditional on the attempt still being `pending` (and, for the job, on the send
it saw), so the request path and overlapping job runs credit an attempt exactly once.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import clock
from chalicelib.adapters.bank_gateway import APPROVED, GatewayError, GatewayTimeout, gateway
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import ENTRY_TEXTS, phrase
from chalicelib.services.common import idempotency
from chalicelib.services.common.money import CURRENCIES
from chalicelib.services.common.unit_of_work import Work
from chalicelib.services.kyc import cases as kyc
from chalicelib.services.wallet import funding_sources, ledger, limits
from chalicelib.services.wallet.ledger import Leg, Posting
from chalicelib.services.wallet.transaction_view import transaction_item
from chalicelib.store.base import shared_connection
from chalicelib.store.conditions import condition_failed
from chalicelib.store.wallet import Balance, LedgerEntry, TopUpAttempt, TopUpKey, TransactionRecord

# A gateway call times out well inside the Lambda timeout (30 s); a request runs at most that long,
# and an idempotency marker counts as abandoned after 60 s. So a send older than RESEND_AFTER has
# ended, one way or the other, and the bank's answer to `lookup_charge` is final for it.
RESEND_AFTER = timedelta(seconds=60)
SETTLE_AFTER = timedelta(minutes=2)  # the settle job leaves an attempt alone until then
SETTLE_SHARDS = 16  # pending attempts spread over GSI partitions "00"…"15" (readers: all ever used)
KEY_WINDOW = idempotency.KEPT  # after it the same key is a new request, with a new attempt
RETRY_AFTER_SECONDS = 2  # a lost answer: the bank usually knows by the time the client retries

PENDING, COMPLETED, DECLINED, FAILED = "pending", "completed", "declined", "failed"
NO_CHARGE = "no_charge"


def summary(user_id: str, now: datetime) -> dict[str, Any]:
    held = {item.currency: int(item.available) for item in Balance.query(ledger.user_account(user_id))}
    allowance = limits.allowance(user_id, kyc.level_of(user_id), now)
    return {
        "balances": [{"currency": currency, "available": held.get(currency, 0)} for currency in CURRENCIES],
        "limits": [allowance.as_limit()] if allowance.can_send else [],
    }


def top_up(
    user_id: str, locale: str, funding_source_id: str, amount: int, currency: str, now: datetime
) -> dict[str, Any]:
    """Record the attempt, charge the card under its reference, then credit the wallet once.

    Optimistic: a new key (the usual case) costs no read of the key's attempt. When the key already
    started one (the attempt's Put of `<record>#topup` fails), that attempt is carried on instead.
    """
    hold = idempotency.held()
    key_id = hold.record_id if hold is not None else None
    card = _card_or_none(user_id, funding_source_id)
    replaces = None
    for _ in range(3):
        if card is not None:
            attempt = _open_attempt(user_id, locale, card, amount, currency, key_id, now, replaces)
            if attempt is not None:
                return _carry_on(attempt, True, now)
        existing = _attempt_of_key(key_id, funding_source_id, amount, currency, now) if key_id is not None else None
        if existing is not None and existing.status != FAILED:
            return _carry_on(existing, False, now)  # even if the card was removed since
        if card is None:
            raise OkpayError("not_found")
        # Nothing was taken under a failed attempt: a new attempt, a new reference.
        replaces = existing.object_id if existing is not None else None
    raise OkpayError("try_again", retry_after=1)  # kept losing the race for the key's attempt


def settle(attempt_id: str, now: datetime) -> str:
    """The settle job's step for one attempt: ask the bank, then post it or close it.

    Returns what happened: `credited`, `declined`, `failed`, `unknown` (the bank did not answer),
    or `skipped` (not pending, not due yet, or settled meanwhile by a request or another run).
    """
    attempt = _get_attempt(attempt_id)
    if attempt is None or attempt.status != PENDING or not attempt.settle_due or attempt.settle_due > clock.stamp(now):
        return "skipped"
    seen = attempt.charge_sent_at
    try:
        outcome = gateway().lookup_charge(attempt.bank_reference)
    except GatewayError:
        logger.warning("bank lookup failed", extra={"event": "topup_settle", "attempt_id": attempt.object_id})
        return "unknown"
    if outcome == APPROVED:
        try:
            _complete(attempt, now, "job")
        except _Settled:
            return "skipped"
        except OkpayError:  # kept conflicting with the user's other movements: the next run tries again
            return "unknown"
        logger.info("top-up settled", extra={"event": "topup_settled", "attempt_id": attempt.object_id})
        return "credited"
    status, code = (DECLINED, outcome) if outcome else (FAILED, NO_CHARGE)
    # Only if nobody sent the charge again since we read it (a retry's send moves charge_sent_at).
    same_send = TopUpAttempt.charge_sent_at == seen
    if not _close(attempt, status, code, now, "job", extra_condition=same_send):
        return "skipped"
    return status


def attempt_id_for_key(record_id: str) -> str | None:
    """The attempt an idempotency record started (whatever its age), or None."""
    pointer = _pointer(record_id)
    return pointer.attempt_id if pointer is not None else None


# --- the request path -------------------------------------------------------------------------


def _card_or_none(user_id: str, funding_source_id: str) -> Any:
    try:
        return funding_sources.find_card(user_id, funding_source_id)
    except OkpayError as error:
        if error.code != "not_found":
            raise
        return None


def _attempt_of_key(key_id: str, funding_source_id: str, amount: int, currency: str, now: datetime) -> Any:
    """The attempt this key started in the last 24 h, checked against the request; else None."""
    pointer = _pointer(key_id)
    if pointer is None or pointer.expires_ttl < now:
        return None
    attempt = _get_attempt(pointer.attempt_id)
    if attempt is None:  # an attempt is written with its pointer, in one transaction
        raise OkpayError("try_again", retry_after=1)
    if (attempt.funding_source_id, int(attempt.amount), attempt.currency) != (funding_source_id, amount, currency):
        raise OkpayError("idempotency_key_reused")  # the marker was gone (a 503), the body is not the same
    return attempt


def _open_attempt(
    user_id: str,
    locale: str,
    card: Any,
    amount: int,
    currency: str,
    key_id: str | None,
    now: datetime,
    replaces: str | None,
) -> TopUpAttempt | None:
    """A new pending attempt, recorded with its key's pointer; None when the key already has one."""
    hex_id = uuid.uuid4().hex
    stamp = clock.stamp(now)
    attempt = TopUpAttempt(
        f"top_{hex_id}",
        status=PENDING,
        user_id=user_id,
        idempotency_id=key_id,
        bank_reference=f"top_{hex_id}",
        funding_source_id=card.funding_source_id,
        card_token=card.token,
        last4=card.last4,
        bank_name=card.bank_name,
        amount=amount,
        currency=currency,
        locale=locale,
        created_at=stamp,
        charge_sent_at=stamp,
        charges_sent=1,
        settle_shard=_settle_shard(hex_id),
        settle_due=clock.stamp(now + SETTLE_AFTER),
    )
    try:
        with TransactWrite(connection=shared_connection()) as transaction:
            transaction.save(attempt, condition=TopUpAttempt.object_id.does_not_exist())
            if key_id is not None:
                free = TopUpKey.idempotency_id.does_not_exist() | (TopUpKey.expires_ttl < now)
                if replaces is not None:
                    free = free | (TopUpKey.attempt_id == replaces)
                pointer = TopUpKey(
                    _pointer_id(key_id),
                    attempt_id=attempt.object_id,
                    created_at=stamp,
                    expires_ttl=now + KEY_WINDOW,
                )
                transaction.save(pointer, condition=free)
    except TransactWriteError as error:
        if _lost_race(error):
            return None  # the key already has an attempt (or another request is recording one)
        raise
    return attempt


def _carry_on(attempt: TopUpAttempt, fresh: bool, now: datetime) -> dict[str, Any]:
    if attempt.status == COMPLETED:
        return _reply_of(attempt)
    if attempt.status == DECLINED:
        raise OkpayError(attempt.outcome or "card_declined")
    if attempt.status != PENDING:
        raise OkpayError("try_again", retry_after=1)
    if fresh:
        outcome = _send(attempt, now)
    else:
        outcome = _ask(attempt)
        if outcome is None:  # the bank holds no charge under this reference
            _claim_resend(attempt, now)
            outcome = _send(attempt, now)
    if outcome == APPROVED:
        try:
            return _complete(attempt, now, "request")
        except _Settled as settled:  # by the settle job meanwhile: answer as it ended
            return _carry_on(settled.attempt, False, now)
    _close(attempt, DECLINED, outcome, now, "request")
    raise OkpayError(outcome)


def _send(attempt: TopUpAttempt, now: datetime) -> str:
    """Charge the card under the attempt's reference: APPROVED or the decline code."""
    try:
        declined = gateway().charge(attempt.card_token, int(attempt.amount), attempt.currency, attempt.bank_reference)
    except GatewayTimeout:  # the charge may have been taken: the attempt stays pending, to be asked about
        logger.warning("bank charge timed out", extra={"event": "topup_unknown", "attempt_id": attempt.object_id})
        raise OkpayError("try_again", retry_after=RETRY_AFTER_SECONDS) from None
    except GatewayError:
        # The bank refused the call: nothing was taken, so the attempt is failed now (only if nobody
        # sent it again since) and the retry with the same key charges afresh, without waiting
        # RESEND_AFTER for a send that cannot be on its way.
        logger.warning("bank charge refused", extra={"event": "topup_bank_down", "attempt_id": attempt.object_id})
        _close(attempt, FAILED, NO_CHARGE, now, "request", extra_condition=_same_send(attempt))
        raise OkpayError("try_again", retry_after=RETRY_AFTER_SECONDS) from None
    return declined or APPROVED


def _same_send(attempt: TopUpAttempt) -> Any:
    return TopUpAttempt.charge_sent_at == attempt.charge_sent_at


def _ask(attempt: TopUpAttempt) -> str | None:
    try:
        return gateway().lookup_charge(attempt.bank_reference)
    except GatewayError:
        logger.warning("bank lookup failed", extra={"event": "topup_unknown", "attempt_id": attempt.object_id})
        raise OkpayError("try_again", retry_after=RETRY_AFTER_SECONDS) from None


def _claim_resend(attempt: TopUpAttempt, now: datetime) -> None:
    """Take the right to send the charge again, or answer 503 while a send may be on its way."""
    seen = attempt.charge_sent_at
    ready_at = clock.from_stamp(seen) + RESEND_AFTER
    if now < ready_at:
        raise OkpayError("try_again", retry_after=max(1, int((ready_at - now).total_seconds()) + 1))
    try:
        TopUpAttempt(attempt.object_id).update(
            actions=[
                TopUpAttempt.charge_sent_at.set(clock.stamp(now)),
                TopUpAttempt.settle_due.set(clock.stamp(now + SETTLE_AFTER)),
                TopUpAttempt.charges_sent.add(1),
            ],
            condition=(TopUpAttempt.status == PENDING) & (TopUpAttempt.charge_sent_at == seen),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        raise OkpayError("try_again", retry_after=1) from None  # settled or re-sent meanwhile
    attempt.charge_sent_at = clock.stamp(now)


# --- settling ---------------------------------------------------------------------------------


class _Settled(OkpayError):
    """The attempt stopped being pending under us (another request or the job settled it)."""

    def __init__(self, attempt: TopUpAttempt) -> None:
        super().__init__("try_again", retry_after=1)
        self.attempt = attempt


def _complete(attempt: TopUpAttempt, now: datetime, by: str) -> dict[str, Any]:
    """Post the top-up and mark the attempt completed in one transaction; `_Settled` if it was not pending."""
    user_id = attempt.user_id
    amount, currency = int(attempt.amount), attempt.currency
    counterparty = {
        "kind": "funding_source",
        "id": attempt.funding_source_id,
        "name": attempt.bank_name,
        "last4": attempt.last4,
    }
    description = phrase(ENTRY_TEXTS, "topup", attempt.locale, bank=attempt.bank_name, last4=attempt.last4)
    posting = Posting(
        type="topup",
        legs=[
            Leg("user_wallet", user_id, currency, amount, counterparty=counterparty, description=description),
            Leg("system", "bank_clearing", currency, -amount, description="top-up"),
        ],
        parties=[user_id],
        details={
            "funding_source_id": attempt.funding_source_id,
            "topup_attempt_id": attempt.object_id,
            "bank_reference": attempt.bank_reference,
        },
        # One header per attempt: its Put (absent) is a second guard against posting twice.
        transaction_id=_transaction_id(attempt),
    )

    def finish(work: Work, posted: ledger.Posted) -> None:
        work.update(
            TopUpAttempt(attempt.object_id),
            actions=[
                TopUpAttempt.status.set(COMPLETED),
                TopUpAttempt.transaction_id.set(posting.transaction_id),
                TopUpAttempt.settled_at.set(clock.stamp(now)),
                TopUpAttempt.settled_by.set(by),
                TopUpAttempt.settle_shard.remove(),
                TopUpAttempt.settle_due.remove(),
            ],
            condition=TopUpAttempt.status == PENDING,
        )
        work.answer(201, transaction_item(posted.entry_for(user_id)))

    def settled_elsewhere() -> None:
        fresh = _get_attempt(attempt.object_id)
        if fresh is not None and fresh.status != PENDING:
            raise _Settled(fresh)

    posted = ledger.post(posting, now, extra=finish, on_conflict=settled_elsewhere)
    return transaction_item(posted.entry_for(user_id))


def _close(
    attempt: TopUpAttempt, status: str, code: str, now: datetime, by: str, *, extra_condition: Any = None
) -> bool:
    """Mark a pending attempt declined or failed; False when it was settled (or re-sent) meanwhile."""
    condition = TopUpAttempt.status == PENDING
    if extra_condition is not None:
        condition = condition & extra_condition
    try:
        TopUpAttempt(attempt.object_id).update(
            actions=[
                TopUpAttempt.status.set(status),
                TopUpAttempt.outcome.set(code),
                TopUpAttempt.settled_at.set(clock.stamp(now)),
                TopUpAttempt.settled_by.set(by),
                TopUpAttempt.settle_shard.remove(),
                TopUpAttempt.settle_due.remove(),
            ],
            condition=condition,
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False
    logger.info("top-up closed", extra={"event": f"topup_{status}", "attempt_id": attempt.object_id, "by": by})
    return True


def _reply_of(attempt: TopUpAttempt) -> dict[str, Any]:
    """The `{transaction}` of a completed attempt, as its owner sees it."""
    header = TransactionRecord.get(attempt.transaction_id, consistent_read=True)
    account = ledger.user_account(attempt.user_id)
    leg = next(leg for leg in header.legs if leg["account_id"] == account)
    return transaction_item(LedgerEntry.get(account, leg["entry_key"], consistent_read=True))


# --- keys -------------------------------------------------------------------------------------


def _transaction_id(attempt: TopUpAttempt) -> str:
    return f"txn_{attempt.object_id.removeprefix('top_')}"


def _settle_shard(hex_id: str) -> str:
    return f"{int(hashlib.sha256(hex_id.encode()).hexdigest()[:8], 16) % SETTLE_SHARDS:02d}"


def settle_shards() -> list[str]:
    return [f"{shard:02d}" for shard in range(SETTLE_SHARDS)]


def _pointer_id(record_id: str) -> str:
    return f"{record_id}#topup"


def _pointer(record_id: str) -> TopUpKey | None:
    try:
        return TopUpKey.get(_pointer_id(record_id), consistent_read=True)
    except TopUpKey.DoesNotExist:
        return None


def _lost_race(error: TransactWriteError) -> bool:
    reasons = getattr(error, "cancellation_reasons", None) or []
    codes = {reason.code for reason in reasons if reason is not None}
    return bool(codes & {"ConditionalCheckFailed", "TransactionConflict"})


def _get_attempt(attempt_id: str) -> TopUpAttempt | None:
    try:
        return TopUpAttempt.get(attempt_id, consistent_read=True)
    except TopUpAttempt.DoesNotExist:
        return None
