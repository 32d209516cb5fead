"""The double-entry ledger: every movement of money is one balanced DynamoDB transaction.

A posting lists its legs (signed amounts per account and currency; each currency sums to zero) and
is written as ONE TransactWriteItems holding, all or nothing:

- for each user-wallet leg, an atomic `ADD available :delta, version :1` on that wallet's balance,
  conditioned on `available >= :debit` (never below zero) and on the version read before, so the
  entry's `balance_after` is exact;
- one ledger entry per leg under a unique key; merchant and system accounts (bank clearing, FX,
  dispute write-off) get entries spread over `LEDGER_SHARDS` partitions and no balance item at
  all, so no item is written by every transaction (DynamoDB caps an item near 1,000 writes/s);
- the transaction header;
- whatever the caller adds in the same transaction: its idempotency record, the payer's limit
  counters, a transfer's status, an order-reference claim.

A conflicting concurrent write cancels the transaction; it is retried with jittered backoff a
bounded number of times, then `503 try_again`. Nothing is ever half-written.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters import aws, clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.common.unit_of_work import Work, unit_of_work
from chalicelib.store.wallet import Balance, LedgerEntry, TransactionRecord

LEDGER_SHARDS = 16
MAX_ATTEMPTS = 10  # one wallet paid from many devices at once: each round lets one through
# When only balance versions moved (many payers crediting one wallet), a retry is cheap (the two
# balances read again, no other check can have changed), so it may be tried more often.
MAX_BALANCE_ATTEMPTS = 25
SYSTEM_ACCOUNTS = ("bank_clearing", "fx", "dispute_writeoff")
_BALANCE = "balance"  # the label of a wallet's balance update in the transaction


@dataclass(frozen=True)
class Leg:
    account_type: str  # "user_wallet" | "merchant" | "system"
    owner: str  # user id, merchant id, or a SYSTEM_ACCOUNTS name
    currency: str
    amount: int  # signed minor units: + credit, - debit
    counterparty: dict[str, Any] | None = None
    description: str | None = None
    fx: dict[str, Any] | None = None

    @property
    def is_user(self) -> bool:
        return self.account_type == "user_wallet"


@dataclass
class Posting:
    type: str
    legs: list[Leg]
    parties: list[str]  # user ids who may read the transaction
    details: dict[str, Any] = field(default_factory=dict)
    transaction_id: str = field(default_factory=lambda: f"txn_{uuid.uuid4().hex}")


@dataclass(frozen=True)
class BalanceState:
    available: int
    version: int


@dataclass
class Posted:
    transaction_id: str
    posted_at: datetime
    entries: list[LedgerEntry]

    def entry_for(self, user_id: str, currency: str | None = None) -> LedgerEntry:
        for entry in self.entries:
            if entry.account_id == user_account(user_id) and (currency is None or entry.currency == currency):
                return entry
        raise KeyError(user_id)


Extra = Callable[[Work, Posted], None]
# After a refused attempt: raises the refusal a fresh read finds, else returns the fresh balances
# (None: the ledger reads them itself).
ConflictCheck = Callable[[], "dict[tuple[str, str], BalanceState] | None"]


def user_account(user_id: str) -> str:
    return f"user#{user_id}"


def shard_of(entry_id: str) -> str:
    return f"{int(hashlib.sha256(entry_id.encode()).hexdigest()[:8], 16) % LEDGER_SHARDS:02d}"


def read_balances(keys: list[tuple[str, str]]) -> dict[tuple[str, str], BalanceState]:
    """Strongly consistent balances of (user_id, currency) pairs; absent ones are left out."""
    found: dict[tuple[str, str], BalanceState] = {}
    unique = list(dict.fromkeys(keys))
    if not unique:
        return found
    for item in Balance.batch_get([(user_account(user), currency) for user, currency in unique], consistent_read=True):
        found[(item.account_id.split("#", 1)[1], item.currency)] = BalanceState(int(item.available), int(item.version))
    return found


def post(
    posting: Posting,
    now: datetime,
    *,
    balances: dict[tuple[str, str], BalanceState] | None = None,
    extra: Extra | None = None,
    on_conflict: ConflictCheck | None = None,
) -> Posted:
    """Write `posting` atomically, with what `extra` adds to its unit of work; `balances` may carry
    the states the caller already read."""
    _check_balanced(posting)
    wallets = [(leg.owner, leg.currency) for leg in posting.legs if leg.is_user]
    states = dict(balances) if balances is not None else read_balances(wallets)
    conflicts = balance_conflicts = 0
    while conflicts < MAX_ATTEMPTS and balance_conflicts < MAX_BALANCE_ATTEMPTS:
        _ensure_funds(posting, states)
        # Stamped after the balances it is conditioned on were read: a wallet's entries then sort in
        # the order they committed, so the newest one's balance_after is the balance, even when a
        # request that started earlier (slowed by throttling, or retrying a conflict) commits later.
        moment = max(now, clock.now())
        posted = _entries(posting, moment, states)
        try:
            with unit_of_work(now) as work:
                _write(work, posting, posted, states, moment)
                if extra is not None:
                    extra(work, posted)
            return posted
        except TransactWriteError as error:
            refused = work.refused(error)
            if refused and all(label == _BALANCE for label in refused):
                # Only balances moved: the funds check runs again on the fresh ones; nothing else
                # the caller checked was refused (its own items' conditions held).
                balance_conflicts += 1
                fresh = read_balances(wallets)
            else:
                # The caller's own conditions (an order claim, a transfer's state, a limit) are
                # checked again, even when a balance moved too: otherwise the retry could answer
                # with a later check (insufficient_funds) instead of the one that failed.
                conflicts += 1
                fresh = on_conflict() if on_conflict else None
                if fresh is None:
                    fresh = read_balances(wallets)
            moved = any(fresh.get(key) != states.get(key) for key in wallets)
            if not moved and not _is_conflict(error):
                raise
            states = fresh
            attempt = conflicts + balance_conflicts
            logger.info("ledger conflict, retrying", extra={"attempt": attempt, "type": posting.type})
            time.sleep(random.uniform(0, min(0.25, 0.02 * 2**attempt)))  # noqa: S311 (jitter, not security)
    raise OkpayError("try_again", retry_after=1)


def _check_balanced(posting: Posting) -> None:
    sums: dict[str, int] = defaultdict(int)
    for leg in posting.legs:
        if leg.amount == 0:
            raise ValueError("a leg moves no money")
        sums[leg.currency] += leg.amount
    if any(sums.values()):
        raise ValueError(f"unbalanced posting: {dict(sums)}")


def _ensure_funds(posting: Posting, states: dict[tuple[str, str], BalanceState]) -> None:
    for leg in posting.legs:
        if leg.is_user and leg.amount < 0:
            state = states.get((leg.owner, leg.currency))
            if (state.available if state else 0) < -leg.amount:
                raise OkpayError("insufficient_funds")


def _entries(posting: Posting, now: datetime, states: dict[tuple[str, str], BalanceState]) -> Posted:
    stamp = clock.stamp(now)
    day = stamp[:10]  # the UTC day: reconcile reads entries by day and shard
    entries = []
    for leg in posting.legs:
        entry_id = f"ent_{uuid.uuid4().hex}"
        shard = shard_of(entry_id)
        if leg.is_user:
            account_id = user_account(leg.owner)
            state = states.get((leg.owner, leg.currency), BalanceState(0, 0))
            balance_after, version = state.available + leg.amount, state.version + 1
        else:
            account_id = f"{leg.account_type if leg.account_type == 'merchant' else 'system'}#{leg.owner}#{shard}"
            balance_after = version = None
        entries.append(
            LedgerEntry(
                account_id,
                f"{stamp}#{entry_id}",
                entry_id=entry_id,
                transaction_id=posting.transaction_id,
                posting_bucket=f"{day}#{shard}",
                account_type=leg.account_type,
                type=posting.type,
                direction="credit" if leg.amount > 0 else "debit",
                amount=abs(leg.amount),
                currency=leg.currency,
                posted_at=stamp,
                description=leg.description,
                counterparty=leg.counterparty,
                fx=leg.fx,
                balance_after=balance_after,
                version=version,
            )
        )
    return Posted(posting.transaction_id, now, entries)


def _write(
    transaction: Work,
    posting: Posting,
    posted: Posted,
    states: dict[tuple[str, str], BalanceState],
    now: datetime,
) -> None:
    stamp = clock.stamp(now)
    for leg in posting.legs:
        if not leg.is_user:
            continue
        state = states.get((leg.owner, leg.currency))
        condition = (Balance.version == state.version) if state else Balance.account_id.does_not_exist()
        if leg.amount < 0:
            condition = condition & (Balance.available >= -leg.amount)
        transaction.update(
            Balance(user_account(leg.owner), leg.currency),
            actions=[Balance.available.add(leg.amount), Balance.version.add(1), Balance.updated_at.set(stamp)],
            condition=condition,
            label=_BALANCE,
        )
    for entry in posted.entries:
        transaction.save(entry, condition=LedgerEntry.entry_key.does_not_exist())
    transaction.save(
        TransactionRecord(
            posting.transaction_id,
            kind="transaction",
            type=posting.type,
            status="completed",
            created_at=stamp,
            parties=posting.parties,
            legs=[
                {
                    "account_id": entry.account_id,
                    "entry_key": entry.entry_key,
                    "account_type": entry.account_type,
                    "direction": entry.direction,
                    "amount": int(entry.amount),
                    "currency": entry.currency,
                }
                for entry in posted.entries
            ],
            details=posting.details,
        ),
        condition=TransactionRecord.object_id.does_not_exist(),
    )


def _is_conflict(error: TransactWriteError) -> bool:
    """Refused for a condition, a conflicting transaction or throttling: nothing was written, so the
    same posting may be tried again (bounded, with jitter)."""
    reasons = getattr(error, "cancellation_reasons", None) or []
    codes = {reason.code for reason in reasons if reason is not None}
    busy = ("TransactionConflictException", "TransactionInProgressException")
    return bool(codes & {"ConditionalCheckFailed", *aws.BUSY_REASONS}) or error.cause_response_code in busy
