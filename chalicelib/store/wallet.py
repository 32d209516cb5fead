"""Wallet storage: balances, ledger entries, transaction headers, idempotency records, cards.

- `balances`: one item per user wallet and currency, changed only inside a ledger transaction by
  an atomic ADD guarded by `available >= debit` and by the item's `version` (which is what lets
  every entry carry an exact `balance_after`). System and merchant accounts have no item here that
  requests write: their entries are appended under sharded keys and summed by `reconcile`.
- `ledger`: append-only entries, unique keys, never updated.
- `transactions`: one header per transaction (`txn_…`), one item per transfer (`trf_…`) and one
  per top-up attempt (`top_…`), recorded before the card is charged.
- `idempotency`: the first answer to (user, method, path, key), kept 24 h; beside it, for a
  top-up, which attempt that key started (`<idempotency_id>#topup`).
- `funding-sources`: a user's cards: a token, the last four digits, never the number.
"""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.store.base import BaseModel, StageTable


class Balance(BaseModel):
    class Meta(metaclass=StageTable):
        table = "balances"

    account_id = UnicodeAttribute(hash_key=True)  # "user#usr_…"
    currency = UnicodeAttribute(range_key=True)
    available = NumberAttribute(default=0)  # minor units, never below zero
    version = NumberAttribute(default=0)  # +1 per entry on this wallet and currency
    updated_at = UnicodeAttribute(null=True)


class EntriesByTransaction(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_transaction"
        projection = AllProjection()

    transaction_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)


class EntriesByPostingBucket(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_posting_bucket"
        projection = AllProjection()

    posting_bucket = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)


class LedgerEntry(BaseModel):
    class Meta(metaclass=StageTable):
        table = "ledger"

    account_id = UnicodeAttribute(hash_key=True)  # "user#usr_…", "merchant#mer_…#07", "system#fx#07"
    entry_key = UnicodeAttribute(range_key=True)  # "<posted_at stamp>#<entry_id>"
    entry_id = UnicodeAttribute()
    transaction_id = UnicodeAttribute()
    posting_bucket = UnicodeAttribute()  # "<UTC day>#<shard>", for reconcile
    account_type = UnicodeAttribute()  # "user_wallet" | "merchant" | "system"
    type = UnicodeAttribute()  # topup | withdrawal | transfer | payment | refund | conversion | adjustment
    direction = UnicodeAttribute()  # "debit" | "credit"
    amount = NumberAttribute()  # positive, minor units
    currency = UnicodeAttribute()
    posted_at = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    counterparty = JSONAttribute(null=True)
    fx = JSONAttribute(null=True)
    balance_after = NumberAttribute(null=True)  # user wallets only
    version = NumberAttribute(null=True)  # the wallet's version this entry made (user wallets)

    by_transaction = EntriesByTransaction()
    by_posting_bucket = EntriesByPostingBucket()


class TransactionRecord(BaseModel):
    """A transaction header (`txn_…`) or a transfer (`trf_…`) in table `transactions`."""

    class Meta(metaclass=StageTable):
        table = "transactions"

    object_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # "transaction" | "transfer"
    type = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    parties = ListAttribute(of=UnicodeAttribute, null=True)  # user ids who may read it
    legs = JSONAttribute(null=True)  # [{account_id, entry_key, account_type, direction, amount, currency}]
    amount = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    refunded = NumberAttribute(default=0)
    details = JSONAttribute(null=True)  # merchant, order reference, funding source, fx, transfer id …
    # transfers
    payer = UnicodeAttribute(null=True)
    payee = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute(null=True)
    code_hash = UnicodeAttribute(null=True)
    attempts_left = NumberAttribute(null=True)
    resends = NumberAttribute(null=True)
    transaction_id = UnicodeAttribute(null=True)


class AttemptsBySettleDue(GlobalSecondaryIndex):
    """Sparse: only a pending top-up attempt carries `settle_shard` and `settle_due`."""

    class Meta:
        index_name = "by_settle_due"
        projection = KeysOnlyProjection()

    settle_shard = UnicodeAttribute(hash_key=True)
    settle_due = UnicodeAttribute(range_key=True)


class TopUpAttempt(BaseModel):
    """A top-up attempt (`top_…`) in table `transactions`, written before the card is charged.

    `status`: `pending` (charge sent or about to be; outcome not yet known to us) → `completed`
    (credited, in the same TransactWriteItems as the ledger posting), `declined` (the bank said
    no) or `failed` (the bank holds no charge under the reference: nothing was taken).
    """

    class Meta(metaclass=StageTable):
        table = "transactions"

    object_id = UnicodeAttribute(hash_key=True)  # "top_<32 hex>"
    kind = UnicodeAttribute(default="topup_attempt")
    status = UnicodeAttribute()  # pending | completed | declined | failed
    user_id = UnicodeAttribute()
    idempotency_id = UnicodeAttribute(null=True)  # the idempotency record that started it
    bank_reference = UnicodeAttribute()  # unique per attempt: what the bank knows the charge by
    funding_source_id = UnicodeAttribute()
    card_token = UnicodeAttribute()
    last4 = UnicodeAttribute()
    bank_name = UnicodeAttribute(null=True)
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    locale = UnicodeAttribute(default="en")  # of the request: the entry's description
    created_at = UnicodeAttribute()
    charge_sent_at = UnicodeAttribute()  # the last time a charge was (about to be) sent
    charges_sent = NumberAttribute(default=1)  # sends under the one reference (the bank takes one)
    settle_shard = UnicodeAttribute(null=True)  # while pending: "00"…"15", GSI by_settle_due
    settle_due = UnicodeAttribute(null=True)  # while pending: when the settle job may ask the bank
    outcome = UnicodeAttribute(null=True)  # the decline code, or "no_charge"
    transaction_id = UnicodeAttribute(null=True)  # once completed
    settled_at = UnicodeAttribute(null=True)
    settled_by = UnicodeAttribute(null=True)  # "request" | "job"

    by_settle_due = AttemptsBySettleDue()


class TopUpKey(BaseModel):
    """Which top-up attempt an Idempotency-Key started, in table `idempotency`, for 24 h.

    The idempotency marker itself is deleted when a request ends in 503; this item outlives it, so
    the retry with the same key finds the attempt (and asks the bank) instead of charging again.
    """

    class Meta(metaclass=StageTable):
        table = "idempotency"

    idempotency_id = UnicodeAttribute(hash_key=True)  # "<idempotency record id>#topup"
    attempt_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_ttl = TTLAttribute()  # creation + 24 h: after it, the key starts a new attempt


class FundingSource(BaseModel):
    class Meta(metaclass=StageTable):
        table = "funding-sources"

    user_id = UnicodeAttribute(hash_key=True)
    funding_source_id = UnicodeAttribute(range_key=True)
    type = UnicodeAttribute(default="bank_card")
    token = UnicodeAttribute()  # the gateway's token; the card number is never stored
    last4 = UnicodeAttribute()
    bank_name = UnicodeAttribute(null=True)
    holder_name = UnicodeAttribute()
    fingerprint = UnicodeAttribute()  # keyed hash of the number: duplicates, without the number
    created_at = UnicodeAttribute()
    extra = MapAttribute(null=True)
