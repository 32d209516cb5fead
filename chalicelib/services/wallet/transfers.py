"""Sending money to another Okpay user, with step-up confirmation when the risk calls for it.

A transfer completes at once (201) unless, after every other check passes, one of these holds:
the day's 1,000 CNY step-up budget would be exceeded, the amount is ≥ 1,000 CNY, or the payee is
new to the payer and the amount is ≥ 200 CNY (all in CNY equivalent). Then it waits (202) for a
6-digit SMS code, or a current TOTP code, bound to the transfer's id, amount and payee (dynamic
linking): 5 minutes, 5 attempts, single use. Funds are not reserved: confirming checks balance
and limits again. Expired and canceled transfers move nothing.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import clock, notify
from chalicelib.adapters.keys import keyed_hash
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.common import idempotency, rate_limits
from chalicelib.services.common.emails import normalize_email
from chalicelib.services.common.money import format_amount
from chalicelib.services.common.names import mask_name
from chalicelib.services.common.phones import normalize_phone
from chalicelib.services.common.unit_of_work import Work, unit_of_work
from chalicelib.services.identity import notices, protection, reauth, totp
from chalicelib.services.kyc.cases import level_of
from chalicelib.services.wallet import ledger, money_out, step_up
from chalicelib.services.wallet.ledger import Leg, Posted, Posting
from chalicelib.services.wallet.money_out import Answer, AwaitConfirmation, Debit, Payer
from chalicelib.store.base import shared_connection
from chalicelib.store.conditions import condition_failed
from chalicelib.store.counters import Counter
from chalicelib.store.kyc import CURRENT, KycRecord
from chalicelib.store.users import Claim, User, email_claim, find_claim_owner, get_user, phone_claim
from chalicelib.store.wallet import Balance, TransactionRecord

CONFIRMATION_WINDOW = timedelta(minutes=5)
CODE_ATTEMPTS = 5
MAX_RESENDS = 3
LARGE_TRANSFER = 1_000_00  # CNY minor units: always confirmed
NEW_PAYEE_THRESHOLD = 200_00  # CNY minor units: confirmed when the payee is new
LOOKUPS_PER_DAY = 30


@dataclass(frozen=True)
class RecipientRef:
    user_id: str | None = None
    phone: str | None = None
    email: str | None = None


def payee_claim(payer_id: str, payee_id: str) -> str:
    return f"payee#{payer_id}#{payee_id}"


# --- recipients ---------------------------------------------------------------------------------


def resolve_recipient(ref: RecipientRef, field_prefix: str = "recipient.") -> str | None:
    """The active user a reference names; phone and email must be verified (claimed). A malformed
    one is a 400 naming the request's field: `recipient.phone` in a transfer, `phone` in a lookup."""
    if ref.user_id:
        return ref.user_id
    if ref.phone:
        return find_claim_owner(phone_claim(normalize_phone(ref.phone, field=f"{field_prefix}phone")))
    if ref.email:
        return find_claim_owner(email_claim(normalize_email(ref.email, field=f"{field_prefix}email")))
    return None


def lookup(payer_id: str, ref: RecipientRef, now: datetime) -> dict[str, Any]:
    """POST /recipients/lookup: who a phone or email belongs to, with the real name masked."""
    if level_of(payer_id) < 1:
        raise OkpayError("kyc_required")
    _count_lookup(payer_id, now)
    owner = resolve_recipient(ref, field_prefix="")
    user = get_user(owner) if owner else None
    if not _can_receive(user):
        raise OkpayError("recipient_not_found")
    return {"user_id": user.user_id, "masked_name": _masked_name_of(user.user_id), "display_name": user.display_name}


# --- sending --------------------------------------------------------------------------------------


@dataclass
class _Transfer(Debit):
    """What sending and confirming share: the posting payer → payee and the transfer's record."""

    kind = "transfer"

    payee_id: str = ""
    record: TransactionRecord | None = None

    @property
    def names(self) -> dict[str, Any]:
        return (self.record.details or {}).get("masked_names", {})

    def reads(self) -> list[money_out.ReadKey]:
        return [(User, (self.payee_id,)), (Balance, (ledger.user_account(self.payee_id), self.currency))]

    def posting(self, payer: Payer) -> Posting:
        note = self.record.note or ""
        return Posting(
            type="transfer",
            legs=[
                Leg(
                    "user_wallet",
                    self.payer_id,
                    self.currency,
                    -self.amount,
                    counterparty={"kind": "user", "id": self.payee_id, "masked_name": self.names.get("payee")},
                    description=note,
                ),
                Leg(
                    "user_wallet",
                    self.payee_id,
                    self.currency,
                    self.amount,
                    counterparty={"kind": "user", "id": self.payer_id, "masked_name": self.names.get("payer")},
                    description=note,
                ),
            ],
            parties=[self.payer_id, self.payee_id],
            details={"transfer_id": self.record.object_id},
        )

    def write(self, work: Work, payer: Payer, posted: Posted) -> None:
        stamp = clock.stamp(payer.now)
        work.save(Claim(payee_claim(self.payer_id, self.payee_id), user_id=self.payer_id, created_at=stamp))
        # The payee may have closed since it was read: the money never lands on a closed account
        # (a frozen one still receives: money can only come in, section 11).
        work.condition_check(User, self.payee_id, condition=protection.still_open())

    def counterparty_for_notice(self, payer: Payer) -> str:
        return self.names.get("payee") or self.payee_id


@dataclass
class NewTransfer(_Transfer):
    """POST /transfers: completes at once (201), or waits for the payer's code (202)."""

    ref: RecipientRef | None = None
    note: str | None = None
    _lookup_counted: bool = field(default=False, init=False, repr=False)  # once, not again on a re-check

    def reads(self) -> list[money_out.ReadKey]:
        if not self.payee_id:
            return []
        return [
            *super().reads(),
            (KycRecord, (self.payee_id, CURRENT)),
            (Claim, (payee_claim(self.payer_id, self.payee_id),)),
        ]

    def checks(self, payer: Payer) -> list[money_out.Check]:
        return [
            lambda: self._phone_verified(payer),
            lambda: self._count_lookup(payer),
            lambda: self._payee(payer),
            lambda: self._not_self(),
        ]

    def authorize(self, payer: Payer, cny: int) -> bool:
        known_payee = payer.extras.get((Claim, (payee_claim(self.payer_id, self.payee_id),))) is not None
        if (
            step_up.needs_step_up(payer.budget_used, cny)
            or cny >= LARGE_TRANSFER
            or (not known_payee and cny >= NEW_PAYEE_THRESHOLD)
        ):
            raise AwaitConfirmation
        return False

    def over_budget(self, payer: Payer) -> Exception:
        return AwaitConfirmation()  # spent meanwhile by a concurrent movement: this one needs a code

    def hold(self, payer: Payer, cny: int) -> Answer:
        self.record.transaction_id = None  # set by a posting that was refused, if any
        return Answer(202, _await_confirmation(payer.user, self.record, payer.now))

    def write(self, work: Work, payer: Payer, posted: Posted) -> None:
        self.record.status = "completed"
        self.record.transaction_id = posted.transaction_id
        work.save(self.record, condition=TransactionRecord.object_id.does_not_exist())
        super().write(work, payer, posted)

    def answer(self, payer: Payer, posted: Posted) -> Answer:
        return Answer(201, view_of(self.record, payer.now))

    def _phone_verified(self, payer: Payer) -> None:
        if not payer.user.phone_verified:
            raise OkpayError("phone_not_verified")

    def _count_lookup(self, payer: Payer) -> None:
        if self.ref.user_id is None and not self._lookup_counted:
            _count_lookup(self.payer_id, payer.now)  # a phone or email names someone: the daily cap (v1.2)
            self._lookup_counted = True

    def _payee(self, payer: Payer) -> None:
        payee = payer.extras.get((User, (self.payee_id,))) if self.payee_id else None
        if not _can_receive(payee):
            raise OkpayError("recipient_not_found")
        if self.record is None:
            payee_case = payer.extras.get((KycRecord, (self.payee_id, CURRENT)))
            names = {
                "payer": mask_name(payer.real_name),
                "payee": mask_name(payee_case.approved_real_name if payee_case else None),
            }
            self.record = TransactionRecord(
                f"trf_{uuid.uuid4().hex}",
                kind="transfer",
                status="pending",
                created_at=clock.stamp(payer.now),
                payer=self.payer_id,
                payee=self.payee_id,
                amount=self.amount,
                currency=self.currency,
                note=self.note,
                parties=[self.payer_id, self.payee_id],
                details={"masked_names": names},
            )

    def _not_self(self) -> None:
        if self.payee_id == self.payer_id:
            raise OkpayError("self_transfer")


@dataclass
class ConfirmedTransfer(_Transfer):
    """POST /transfers/{id}/confirm, once the code was accepted: completes the waiting transfer."""

    def reads(self) -> list[money_out.ReadKey]:
        return [*super().reads(), (TransactionRecord, (self.record.object_id,))]

    def checks(self, payer: Payer) -> list[money_out.Check]:
        return [lambda: self._still_pending(payer), lambda: self._payee_active(payer)]

    def authorize(self, payer: Payer, cny: int) -> bool:
        return True  # the code was the step-up: the budget counts, but need not hold

    def write(self, work: Work, payer: Payer, posted: Posted) -> None:
        # Single use: completing needs the transfer still pending (two right codes: one completes).
        work.update(
            self.record,
            actions=[
                TransactionRecord.status.set("completed"),
                TransactionRecord.transaction_id.set(posted.transaction_id),
            ],
            condition=TransactionRecord.status == "requires_confirmation",
        )
        super().write(work, payer, posted)

    def answer(self, payer: Payer, posted: Posted) -> Answer:
        self.record.status = "completed"
        self.record.transaction_id = posted.transaction_id
        return Answer(200, view_of(self.record, payer.now))

    def _still_pending(self, payer: Payer) -> None:
        fresh = payer.extras.get((TransactionRecord, (self.record.object_id,)))
        if fresh is None or fresh.status != "requires_confirmation":
            raise OkpayError("transfer_not_pending", details={"status": _status(fresh or self.record, payer.now)})

    def _payee_active(self, payer: Payer) -> None:
        payee = payer.extras.get((User, (self.payee_id,)))
        if not _can_receive(payee):
            _cancel_for_payee(self.record, payer.now)


def send(payer_id: str, ref: RecipientRef, amount: int, currency: str, note: str | None, now: datetime):
    """(status code, transfer view): 201 completed or 202 requires_confirmation."""
    transfer = NewTransfer(
        payer_id, currency, amount, payee_id=ref.user_id or resolve_recipient(ref) or "", ref=ref, note=note
    )
    answer = money_out.run(transfer, now)
    return answer.status, answer.body


def confirm(payer_id: str, transfer_id: str, code: str, method: str, now: datetime) -> dict[str, Any]:
    payer_user = get_user(payer_id)
    # Right after validation (section 11): a frozen payer's code is not even compared. The money-out
    # pipeline checks it again, inside its transaction, for a freeze landing meanwhile.
    protection.refuse_if_frozen(payer_user)
    record = _own_transfer(transfer_id, payer_id, payer_only=True)
    _ensure_pending(record, now)
    # The try is counted before the code is compared: at most 5 comparisons however many race.
    record = _reserve_try(record, now)
    if method == "totp":
        accepted = payer_user is not None and totp.accept_totp(payer_user, code)
    else:
        accepted = record.code_hash is not None and secrets.compare_digest(record.code_hash, _code_hash(record, code))
    if not accepted:
        _wrong_code(record, payer_user, now)
    transfer = ConfirmedTransfer(payer_id, record.currency, int(record.amount), payee_id=record.payee, record=record)
    return money_out.run(transfer, now).body


def cancel_pending(user_id: str, now: datetime, *, outgoing_only: bool = False) -> int:
    """Cancel the transfers waiting for confirmation to or from `user_id` (closing the account), or
    only those from `user_id` (freezing it: money may still come in); how many were."""
    try:
        tracked = Counter.get(_pending_id(user_id), consistent_read=True).members or set()
    except Counter.DoesNotExist:
        return 0
    canceled = 0
    for entry in tracked:
        expires, transfer_id = entry.split("|", 1)
        if expires <= clock.stamp(now):
            continue
        only_from = TransactionRecord.payer == user_id if outgoing_only else None
        canceled += _cancel_if_pending(TransactionRecord(transfer_id), also=only_from)
    logger.info("pending transfers canceled", extra={"user_id": user_id, "canceled": canceled})
    return canceled


def resend(payer_id: str, transfer_id: str, now: datetime) -> None:
    record = _own_transfer(transfer_id, payer_id, payer_only=True)
    _ensure_pending(record, now)
    if int(record.resends or 0) >= MAX_RESENDS:
        raise OkpayError(
            "rate_limited", retry_after=int((clock.from_stamp(record.expires_at) - now).total_seconds()) + 1
        )
    payer = get_user(payer_id)
    code = f"{secrets.randbelow(10**6):06d}"
    try:
        record.update(
            actions=[TransactionRecord.code_hash.set(_code_hash(record, code)), TransactionRecord.resends.add(1)],
            condition=(TransactionRecord.status == "requires_confirmation") & (TransactionRecord.resends < MAX_RESENDS),
        )
    except UpdateError as error:
        if condition_failed(error):
            raise OkpayError("transfer_not_pending", details={"status": _status(record, now)}) from None
        raise
    try:
        _send_code(payer, record, code, (record.details or {}).get("masked_names", {}).get("payee"), now)
    except notices.CodeNotSent:
        _give_back_resend(record)
        raise


def cancel(payer_id: str, transfer_id: str, now: datetime) -> dict[str, Any]:
    record = _own_transfer(transfer_id, payer_id, payer_only=True)
    _ensure_pending(record, now)
    _cancel_pending_or_409(record, now)
    return view_of(record, now)


def read(user_id: str, transfer_id: str, now: datetime) -> dict[str, Any]:
    return view_of(_own_transfer(transfer_id, user_id, payer_only=False), now)


def view_of(record: TransactionRecord, now: datetime) -> dict[str, Any]:
    names = (record.details or {}).get("masked_names", {})
    status = _status(record, now)
    view: dict[str, Any] = {
        "transfer_id": record.object_id,
        "status": status,
        "amount": int(record.amount),
        "currency": record.currency,
        "payer": {"user_id": record.payer, "masked_name": names.get("payer")},
        "recipient": {"user_id": record.payee, "masked_name": names.get("payee")},
        "created_at": clock.isoformat(clock.from_stamp(record.created_at)),
    }
    if record.note:
        view["note"] = record.note
    if status == "requires_confirmation":
        view["expires_at"] = clock.isoformat(clock.from_stamp(record.expires_at))
        view["attempts_left"] = int(record.attempts_left or 0)
    if record.transaction_id:
        view["transaction_id"] = record.transaction_id
    return view


# --- internals ------------------------------------------------------------------------------------


def _await_confirmation(payer: User, record: TransactionRecord, now: datetime) -> dict[str, Any]:
    """Make `record` a transfer waiting for the payer's code, and send the code."""
    code = f"{secrets.randbelow(10**6):06d}"
    record.status = "requires_confirmation"
    record.expires_at = clock.stamp(now + CONFIRMATION_WINDOW)
    record.attempts_left = CODE_ATTEMPTS
    record.resends = 0
    record.code_hash = _code_hash(record, code)
    # Tracked on both users before it exists, so closing either account finds it (cancel_pending).
    for user_id in (record.payer, record.payee):
        _track_pending(user_id, f"{record.expires_at}|{record.object_id}", now)
    view = view_of(record, now)
    try:
        with unit_of_work(now) as work:  # a duplicate request gets this answer, and no second code
            work.save(record, condition=TransactionRecord.object_id.does_not_exist())
            # A freeze committed since the payer was read: no transfer waits on a frozen account.
            work.condition_check(User, payer.user_id, condition=protection.not_frozen())
            work.answer(202, view)
    except TransactWriteError:
        protection.refuse_if_frozen(get_user(payer.user_id))
        raise
    try:
        _send_code(payer, record, code, (record.details or {}).get("masked_names", {}).get("payee"), now)
    except notices.CodeNotSent:
        _withdraw_unsent(record)
        raise
    logger.info("transfer awaits confirmation", extra={"user_id": payer.user_id, "transfer_id": record.object_id})
    return view


def _own_transfer(transfer_id: str, user_id: str, *, payer_only: bool) -> TransactionRecord:
    try:
        record = TransactionRecord.get(transfer_id, consistent_read=True)
    except TransactionRecord.DoesNotExist:
        raise OkpayError("not_found") from None
    allowed = {record.payer} if payer_only else {record.payer, record.payee}
    if record.kind != "transfer" or user_id not in allowed:
        raise OkpayError("not_found")
    return record


def _status(record: TransactionRecord, now: datetime) -> str:
    if record.status == "requires_confirmation" and record.expires_at and clock.from_stamp(record.expires_at) <= now:
        return "expired"
    return record.status


def _ensure_pending(record: TransactionRecord, now: datetime) -> None:
    status = _status(record, now)
    if status != "requires_confirmation":
        raise OkpayError("transfer_not_pending", details={"status": status})


def _reserve_try(record: TransactionRecord, now: datetime) -> TransactionRecord:
    """Count one try on the pending transfer, conditionally while tries are left; the fresh record."""
    try:
        record.update(
            actions=[TransactionRecord.attempts_left.add(-1)],
            condition=(TransactionRecord.status == "requires_confirmation")
            & (TransactionRecord.attempts_left > 0)
            & (TransactionRecord.expires_at > clock.stamp(now)),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        record.refresh(consistent_read=True)
        if _status(record, now) != "requires_confirmation":
            raise OkpayError("transfer_not_pending", details={"status": _status(record, now)}) from None
        raise OkpayError("invalid_code", details={"attempts_left": 0}) from None  # all 5 being compared
    return record


def _wrong_code(record: TransactionRecord, payer: User | None, now: datetime) -> None:
    """A wrong code (its try already counted); the 5th wrong one cancels the transfer.

    Wrong codes are counted apart from the tries, so a right code still being compared is never
    canceled by the wrong ones racing it. Not a login failure (section 5): a step-up failure.
    """
    failures = Counter(f"transfer_fail#{record.object_id}")
    failures.update(actions=[Counter.count.add(1), Counter.expires_ttl.set(now + timedelta(days=1))])
    if int(failures.count) >= CODE_ATTEMPTS:
        _cancel_if_pending(record)
    if payer is not None:
        reauth.record_step_up_failure(payer.user_id, now)
    raise OkpayError("invalid_code", details={"attempts_left": max(0, CODE_ATTEMPTS - int(failures.count))})


def _cancel_for_payee(record: TransactionRecord, now: datetime) -> None:
    """The payee's account can no longer receive: cancel the transfer, `409 recipient_unavailable`."""
    _cancel_pending_or_409(record, now)
    raise OkpayError("recipient_unavailable")


def _cancel_if_pending(record: TransactionRecord, also: Any = None) -> bool:
    """Cancel the transfer if it still waits for confirmation (and `also` holds); False otherwise."""
    condition = TransactionRecord.status == "requires_confirmation"
    try:
        record.update(
            actions=[TransactionRecord.status.set("canceled")],
            condition=condition if also is None else condition & also,
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _cancel_pending_or_409(record: TransactionRecord, now: datetime) -> None:
    if not _cancel_if_pending(record):
        record.refresh(consistent_read=True)
        raise OkpayError("transfer_not_pending", details={"status": _status(record, now)})


def _count_lookup(payer_id: str, now: datetime) -> None:
    """One use of the payer's daily lookups: `/recipients/lookup` and transfers by phone or email."""
    rate_limits.hit(
        f"lookup#{payer_id}#{clock.shanghai_day(now)}", limit=LOOKUPS_PER_DAY, window=timedelta(days=1), now=now
    )


def _pending_id(user_id: str) -> str:
    return f"pending_transfers#{user_id}"


def _track_pending(user_id: str, entry: str, now: datetime) -> None:
    """Add `<expires_at>|<transfer id>` to the user's set; drop the ones whose 5 minutes are over."""
    tracked = Counter(_pending_id(user_id))
    tracked.update(actions=[Counter.members.add({entry}), Counter.expires_ttl.set(now + timedelta(days=1))])
    stale = {item for item in tracked.members or set() if item.split("|", 1)[0] <= clock.stamp(now)}
    if stale:
        tracked.update(actions=[Counter.members.delete(stale)])


def _code_hash(record: TransactionRecord, code: str) -> str:
    # Bound to this transfer's id, amount, currency and payee: a code cannot confirm anything else.
    binding = f"{record.object_id}:{int(record.amount)}:{record.currency}:{record.payee}:{code.strip()}"
    return keyed_hash("transfer_code", binding)


def _send_code(payer: User, record: TransactionRecord, code: str, masked_payee: str | None, now: datetime) -> None:
    """Text the code; `notices.CodeNotSent` (503, the SMS not counted) when SNS cannot take it."""
    counted = rate_limits.SmsCount(payer.phone, f"transfer#{record.object_id}", now)
    wait = rate_limits.reserve_sms_code(payer.phone, counted.purpose_key, now)
    if wait is not None:
        raise OkpayError("rate_limited", retry_after=wait)
    with notices.delivering_code(counted):
        notify.send_sms(
            payer.phone,
            "transfer_code_sms",
            payer.locale,
            code=code,
            amount=format_amount(int(record.amount), record.currency),
            payee=masked_payee or "—",
            minutes=int(CONFIRMATION_WINDOW.total_seconds() // 60),
        )


def _withdraw_unsent(record: TransactionRecord) -> None:
    """The new transfer's code could not be sent: cancel the transfer and take back its stored 202,
    so the retry with the same key starts afresh (a new transfer, a new code) instead of replaying
    a transfer nobody can confirm."""
    hold = idempotency.held()
    with TransactWrite(connection=shared_connection()) as transaction:
        transaction.update(
            record,
            actions=[TransactionRecord.status.set("canceled")],
            condition=TransactionRecord.status == "requires_confirmation",
        )
        if hold is not None and hold.stored:
            idempotency.withdraw_in(transaction, hold)
    if hold is not None:
        hold.stored = False


def _give_back_resend(record: TransactionRecord) -> None:
    """A resent code that could not be sent does not use up one of the 3 resends."""
    try:
        record.update(actions=[TransactionRecord.resends.add(-1)], condition=TransactionRecord.resends > 0)
    except UpdateError as error:
        if not condition_failed(error):
            raise


def _can_receive(user: User | None) -> bool:
    """Any account but a closed one receives: a frozen account's money can only come in (section 11)."""
    return user is not None and user.status != "closed"


def _masked_name_of(user_id: str) -> str | None:
    try:
        case = KycRecord.get(user_id, CURRENT)
    except KycRecord.DoesNotExist:
        return None
    return mask_name(case.approved_real_name)
