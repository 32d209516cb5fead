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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.adapters import clock
from chalicelib.adapters.keys import keyed_hash
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services import idempotency, ledger, money_out, rate_limits, totp
from chalicelib.services.emails import normalize_email
from chalicelib.services.ledger import Leg, Posting
from chalicelib.services.money import format_amount
from chalicelib.services.names import mask_name
from chalicelib.services.phones import normalize_phone
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


def resolve_recipient(ref: RecipientRef) -> str | None:
    """The active user a reference names; phone and email must be verified (claimed)."""
    if ref.user_id:
        return ref.user_id
    if ref.phone:
        return find_claim_owner(phone_claim(normalize_phone(ref.phone, field="recipient.phone")))
    if ref.email:
        return find_claim_owner(email_claim(normalize_email(ref.email, field="recipient.email")))
    return None


def lookup(payer_id: str, ref: RecipientRef, now: datetime) -> dict[str, Any]:
    """POST /recipients/lookup: who a phone or email belongs to, with the real name masked."""
    from chalicelib.services.kyc import level_of

    if level_of(payer_id) < 1:
        raise OkpayError("kyc_required")
    _count_lookup(payer_id, now)
    owner = resolve_recipient(ref)
    user = get_user(owner) if owner else None
    if user is None or user.status != "active":
        raise OkpayError("recipient_not_found")
    return {"user_id": user.user_id, "masked_name": _masked_name_of(user.user_id), "display_name": user.display_name}


# --- sending --------------------------------------------------------------------------------------


def send(payer_id: str, ref: RecipientRef, amount: int, currency: str, note: str | None, slot: Any, now: datetime):
    """(status code, transfer view): 201 completed or 202 requires_confirmation."""
    payee_id = ref.user_id or resolve_recipient(ref)
    extra = []
    if payee_id:
        extra = [
            (User, (payee_id,)),
            (KycRecord, (payee_id, CURRENT)),
            (Balance, (ledger.user_account(payee_id), currency)),
            (Claim, (payee_claim(payer_id, payee_id),)),
        ]
    payer = money_out.load_payer(payer_id, currency, now, extra=extra)
    money_out.require_kyc(payer)
    if not payer.user.phone_verified:
        raise OkpayError("phone_not_verified")
    if ref.user_id is None:
        _count_lookup(payer_id, now)  # a phone or email names someone: the lookups' daily cap (v1.2)
    payee = payer.extras.get((User, (payee_id,))) if payee_id else None
    if payee is None or payee.status != "active":
        raise OkpayError("recipient_not_found")
    if payee.user_id == payer_id:
        raise OkpayError("self_transfer")
    money_out.require_funds(payer, amount)
    cny = money_out.cny_equivalent(amount, currency, payer.rates)
    money_out.require_within_limit(payer, cny)
    payee_case = payer.extras.get((KycRecord, (payee_id, CURRENT)))
    known_payee = payer.extras.get((Claim, (payee_claim(payer_id, payee_id),))) is not None
    payer_case_name = payer.real_name
    transfer_id = f"trf_{uuid.uuid4().hex}"
    names = {
        "payer": mask_name(payer_case_name),
        "payee": mask_name(payee_case.approved_real_name if payee_case else None),
    }
    if money_out.needs_step_up(payer, cny) or cny >= LARGE_TRANSFER or (not known_payee and cny >= NEW_PAYEE_THRESHOLD):
        return 202, _await_confirmation(payer, payee, transfer_id, amount, currency, note, names, now)
    balances = {(payer_id, currency): payer.balance} if payer.balance else {}
    payee_balance = payer.extras.get((Balance, (ledger.user_account(payee_id), currency)))
    if payee_balance is not None:
        balances[(payee_id, currency)] = ledger.BalanceState(int(payee_balance.available), int(payee_balance.version))
    record = TransactionRecord(
        transfer_id,
        kind="transfer",
        status="completed",
        created_at=clock.stamp(now),
        payer=payer_id,
        payee=payee_id,
        amount=amount,
        currency=currency,
        note=note,
        parties=[payer_id, payee_id],
        details={"masked_names": names},
    )
    try:
        # Unconfirmed, so the day's budget must still hold when the posting commits: concurrent
        # transfers that each fit the budget read above cannot pass it together.
        view = _complete(payer, record, names, balances, cny, slot, now, condition=None)
    except _BudgetSpent:
        if slot is not None:
            slot.finished = False  # the posting was refused: the edge stores the 202
        return 202, _await_confirmation(payer, payee, transfer_id, amount, currency, note, names, now)
    return 201, view


def confirm(payer_id: str, transfer_id: str, code: str, method: str, slot: Any, now: datetime) -> dict[str, Any]:
    record = _own_transfer(transfer_id, payer_id, payer_only=True)
    _ensure_pending(record, now)
    payer_user = get_user(payer_id)
    # The try is counted before the code is compared: at most 5 comparisons however many race.
    record = _reserve_try(record, now)
    if method == "totp":
        accepted = payer_user is not None and totp.accept_totp(payer_user, code)
    else:
        accepted = record.code_hash is not None and secrets.compare_digest(record.code_hash, _code_hash(record, code))
    if not accepted:
        _wrong_code(record, payer_user, now)
    payee_id = record.payee
    payer = money_out.load_payer(
        payer_id,
        record.currency,
        now,
        extra=[(User, (payee_id,)), (Balance, (ledger.user_account(payee_id), record.currency))],
    )
    money_out.require_kyc(payer)
    payee = payer.extras.get((User, (payee_id,)))
    if payee is None or payee.status != "active":
        _cancel_for_payee(record, now)
    money_out.require_funds(payer, int(record.amount))
    cny = money_out.cny_equivalent(int(record.amount), record.currency, payer.rates)
    money_out.require_within_limit(payer, cny)
    balances = {(payer_id, record.currency): payer.balance} if payer.balance else {}
    payee_balance = payer.extras.get((Balance, (ledger.user_account(payee_id), record.currency)))
    if payee_balance is not None:
        balances[(payee_id, record.currency)] = ledger.BalanceState(
            int(payee_balance.available), int(payee_balance.version)
        )
    names = (record.details or {}).get("masked_names", {})
    # Single use: completing needs the transfer still pending (two right codes: one completes).
    condition = TransactionRecord.status == "requires_confirmation"
    return _complete(payer, record, names, balances, cny, slot, now, condition=condition)


def cancel_pending(user_id: str, now: datetime) -> int:
    """Cancel the transfers waiting for confirmation to or from `user_id` (closing the account)."""
    try:
        tracked = Counter.get(_pending_id(user_id), consistent_read=True).members or set()
    except Counter.DoesNotExist:
        return 0
    canceled = 0
    for entry in tracked:
        expires, transfer_id = entry.split("|", 1)
        if expires <= clock.stamp(now):
            continue
        canceled += _cancel_if_pending(TransactionRecord(transfer_id))
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
    _send_code(payer, record, code, (record.details or {}).get("masked_names", {}).get("payee"), now)


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


def _await_confirmation(payer, payee, transfer_id, amount, currency, note, names, now) -> dict[str, Any]:
    code = f"{secrets.randbelow(10**6):06d}"
    record = TransactionRecord(
        transfer_id,
        kind="transfer",
        status="requires_confirmation",
        created_at=clock.stamp(now),
        payer=payer.user.user_id,
        payee=payee.user_id,
        amount=amount,
        currency=currency,
        note=note,
        parties=[payer.user.user_id, payee.user_id],
        expires_at=clock.stamp(now + CONFIRMATION_WINDOW),
        attempts_left=CODE_ATTEMPTS,
        resends=0,
        details={"masked_names": names},
    )
    record.code_hash = _code_hash(record, code)
    # Tracked on both users before it exists, so closing either account finds it (cancel_pending).
    for user_id in (payer.user.user_id, payee.user_id):
        _track_pending(user_id, f"{record.expires_at}|{transfer_id}", now)
    record.save(condition=TransactionRecord.object_id.does_not_exist())
    _send_code(payer.user, record, code, names.get("payee"), now)
    logger.info("transfer awaits confirmation", extra={"user_id": payer.user.user_id, "transfer_id": transfer_id})
    return view_of(record, now)


def _complete(payer, record, names, balances, cny, slot, now, *, condition) -> dict[str, Any]:
    payer_id, payee_id = record.payer, record.payee
    amount, currency = int(record.amount), record.currency
    posting = Posting(
        type="transfer",
        legs=[
            Leg(
                "user_wallet",
                payer_id,
                currency,
                -amount,
                counterparty={"kind": "user", "id": payee_id, "masked_name": names.get("payee")},
                description=record.note or "",
            ),
            Leg(
                "user_wallet",
                payee_id,
                currency,
                amount,
                counterparty={"kind": "user", "id": payer_id, "masked_name": names.get("payer")},
                description=record.note or "",
            ),
        ],
        parties=[payer_id, payee_id],
        details={"transfer_id": record.object_id},
    )
    record.status = "completed"
    record.transaction_id = posting.transaction_id
    view = view_of(record, now)
    stamp = clock.stamp(now)

    def finish(transaction: Any, posted: ledger.Posted) -> None:
        if condition is None:
            transaction.save(record, condition=TransactionRecord.object_id.does_not_exist())
        else:
            transaction.update(
                record,
                actions=[
                    TransactionRecord.status.set("completed"),
                    TransactionRecord.transaction_id.set(posting.transaction_id),
                ],
                condition=condition,
            )
        transaction.save(Claim(payee_claim(payer_id, payee_id), user_id=payer_id, created_at=stamp))
        # The payee may have closed since it was read: the money never lands on a closed account.
        transaction.condition_check(User, payee_id, condition=User.status == "active")
        money_out.count_in(transaction, payer, cny, counts_towards_limit=True, cap_budget=condition is None)
        if slot is not None:
            idempotency.finish_in(transaction, slot, 201 if condition is None else 200, view, now)

    def why() -> OkpayError | None:
        if condition is not None:
            fresh = TransactionRecord.get(record.object_id, consistent_read=True)
            if fresh.status != "requires_confirmation":
                return OkpayError("transfer_not_pending", details={"status": _status(fresh, now)})
        fresh_payer = money_out.load_payer(payer_id, currency, now, extra=[(User, (payee_id,))])
        payee = fresh_payer.extras.get((User, (payee_id,)))
        if payee is None or payee.status != "active":
            if condition is None:
                return OkpayError("recipient_not_found")
            _cancel_for_payee(record, now)
        money_out.require_within_limit(fresh_payer, cny)
        if condition is None and money_out.needs_step_up(fresh_payer, cny):
            raise _BudgetSpent  # spent meanwhile by a concurrent movement: this one needs a code
        return None

    ledger.post(posting, now, balances=balances, extra=finish, on_conflict=why)
    logger.info("transfer completed", extra={"user_id": payer_id, "transfer_id": record.object_id})
    from chalicelib.services.debits import notify_if_large

    notify_if_large(payer.user, "transfer", amount, currency, cny, names.get("payee") or payee_id, now)
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


class _BudgetSpent(Exception):
    """The day's step-up budget was spent by a concurrent movement before this transfer committed."""


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
        money_out.record_step_up_failure(payer.user_id, now)
    raise OkpayError("invalid_code", details={"attempts_left": max(0, CODE_ATTEMPTS - int(failures.count))})


def _cancel_for_payee(record: TransactionRecord, now: datetime) -> None:
    """The payee's account can no longer receive: cancel the transfer, `409 recipient_unavailable`."""
    _cancel_pending_or_409(record, now)
    raise OkpayError("recipient_unavailable")


def _cancel_if_pending(record: TransactionRecord) -> bool:
    """Cancel the transfer if it still waits for confirmation; False when it no longer does."""
    try:
        record.update(
            actions=[TransactionRecord.status.set("canceled")],
            condition=TransactionRecord.status == "requires_confirmation",
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
        f"lookup#{payer_id}#{money_out.day_of(now)}", limit=LOOKUPS_PER_DAY, window=timedelta(days=1), now=now
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
    from chalicelib.adapters import notify

    wait = rate_limits.reserve_sms_code(payer.phone, f"transfer#{record.object_id}", now)
    if wait is not None:
        raise OkpayError("rate_limited", retry_after=wait)
    notify.send_sms(
        payer.phone,
        "transfer_code_sms",
        payer.locale,
        code=code,
        amount=format_amount(int(record.amount), record.currency),
        payee=masked_payee or "—",
        minutes=int(CONFIRMATION_WINDOW.total_seconds() // 60),
    )


def _masked_name_of(user_id: str) -> str | None:
    try:
        case = KycRecord.get(user_id, CURRENT)
    except KycRecord.DoesNotExist:
        return None
    return mask_name(case.approved_real_name)
