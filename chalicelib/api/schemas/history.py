"""Request and response models of the history routes (chalicelib/api/wallet/history.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from typing_extensions import TypeAliasType

from chalicelib.api.schemas.common import (
    Currency,
    Instant,
    Page,
    PageQuery,
    ResponseBody,
    Timestamp,
    check_instant,
    examples,
    omittable,
)
from chalicelib.api.schemas.wallet import (
    CONVERSION_EXAMPLE,
    PAYMENT_EXAMPLE,
    TOPUP_EXAMPLE,
    TRANSFER_ENTRY_EXAMPLE,
    Transaction,
    TransactionType,
)


class HistoryQuery(PageQuery):
    type: TransactionType | None = Field(default=None, description="Only entries of this transaction type.")
    currency: Currency | None = Field(default=None, description="Only entries in this currency.")
    from_: Instant | None = Field(
        default=None,
        alias="from",
        description="Inclusive lower bound on `created_at` (ISO 8601 with offset; without one, Asia/Shanghai).",
    )
    to: Instant | None = Field(default=None, description="Exclusive upper bound on `created_at`; later than `from`.")

    _instants = field_validator("from_", "to")(check_instant)


class TransactionPage(Page):
    """Newest first. With `type` or `currency` a page may be short while `next_cursor` is not null."""

    model_config = examples(
        {
            "data": [TRANSFER_ENTRY_EXAMPLE, CONVERSION_EXAMPLE, PAYMENT_EXAMPLE, TOPUP_EXAMPLE],
            "next_cursor": (
                "YsfVuwr_j2Kj45zoP5Dei3sicCI6eyJhY2NvdW50X2lkIjp7IlMiOiJ1c2VyI3Vzcl85YjFkM2Y1YTdjMmU0YjZkOGYwYTFjM2U1YjdkOWYyYSJ9LCJlbnRyeV9rZXkiOnsiUyI6IjIwMjYtMTEtMjRUMDQ6MDU6MzAuMTIzNDU2WiNlbnRfM2Q1ZjdiOWExYzJlNGE2YzhlMGIyZDRmNmE4YzFlM2QifX0sInMiOiIzZjFhIn0"
            ),
        }
    )

    data: list[Transaction]


class OtherLeg(ResponseBody):
    """Another account's side of the transaction: no account id, no balance."""

    account_type: Literal["user_wallet", "merchant", "system"] = Field(
        description="`system` is the bank clearing, FX or dispute write-off account."
    )
    amount: int = Field(description="Positive, minor units.")
    currency: Currency


_CONVERSION_CREDIT = {
    **CONVERSION_EXAMPLE,
    "entry_id": "ent_8a1c3e5b7d9f4a2c6e8b1d3f5a7c9e2b",
    "direction": "credit",
    "amount": 1380,
    "currency": "USD",
    "balance_after": 1380,
}


class TransactionDetail(Transaction):
    """One transaction as the caller sees it.

    The top-level fields are the caller's primary entry (its debit when it has one, as a conversion's
    POST answers with its debit side; else its first credit). `entries` lists all of the caller's own
    entries in this transaction (two for a conversion, one otherwise), each a `{transaction}` with
    `balance_after`; `legs` are the other accounts' sides, anonymised to type, amount and currency.
    """

    model_config = examples(
        {
            **CONVERSION_EXAMPLE,
            "entries": [CONVERSION_EXAMPLE, _CONVERSION_CREDIT],
            "legs": [
                {"account_type": "system", "amount": 10000, "currency": "CNY"},
                {"account_type": "system", "amount": 1380, "currency": "USD"},
            ],
        },
        {
            **PAYMENT_EXAMPLE,
            "entries": [PAYMENT_EXAMPLE],
            "legs": [{"account_type": "merchant", "amount": 2800, "currency": "CNY"}],
        },
    )

    entries: list[Transaction]
    legs: list[OtherLeg]


# --- the reconciliation report -------------------------------------------------------------------


class CurrencyCheck(ResponseBody):
    sum: int = Field(description="Σ of every account's entries in this currency up to the cutoff; 0 when balanced.")
    accounts_checked: int = Field(description="Accounts (shards merged) with entries in this currency in this run.")


Account = Annotated[
    str, Field(description='The account, shards merged: "user#usr_…", "merchant#mer_…" or "system#<name>".')
]


class EntryRef(ResponseBody):
    """The ledger entry at fault."""

    entry_id: str
    version: int = omittable(description="Its place in the wallet's gap-free chain of versions.")
    transaction_id: str = omittable(description="Sent when the entry has no version or no `balance_after`.")


class TransactionUnbalanced(ResponseBody):
    """A transaction's legs in one currency do not sum to zero."""

    kind: Literal["transaction_unbalanced"]
    transaction_id: str
    currency: Currency
    expected: int = Field(description="Always 0.")
    found: int = Field(description="The sum of its legs in this currency (credits positive).")


class CurrencyUnbalanced(ResponseBody):
    """All accounts' entries in one currency do not sum to zero."""

    kind: Literal["currency_unbalanced"]
    currency: Currency
    expected: int = Field(description="Always 0.")
    found: int = Field(description="The sum over every account (credits positive).")


class BalanceAfterMismatch(ResponseBody):
    """A wallet entry's `balance_after` is not the previous one plus its amount (`expected`, `found`),
    or the entry has no version or no `balance_after` at all (then only `detail`, with its
    `transaction_id`)."""

    kind: Literal["balance_after_mismatch"]
    account: Account
    currency: Currency
    expected: int = omittable(description="The previous `balance_after` plus this entry's amount.")
    found: int = omittable(description="The entry's `balance_after`.")
    detail: EntryRef


class VersionGapDetail(ResponseBody):
    missing_versions: list[int] = Field(
        min_length=2, max_length=2, description="The first and the last missing version (inclusive)."
    )
    entry_id: str = Field(description="The first entry after the gap.")


class VersionGap(ResponseBody):
    """Versions of a wallet's entries are missing (reported once its 15-minute grace has passed)."""

    kind: Literal["version_gap"]
    account: Account
    currency: Currency
    expected: int = Field(description="The version that should come next.")
    found: int = Field(description="The version that came instead.")
    detail: VersionGapDetail


class NegativeBalance(ResponseBody):
    """A user wallet or a merchant went below zero (system accounts may)."""

    kind: Literal["negative_balance"]
    account: Account
    currency: Currency
    found: int = Field(description="The balance: the entry's `balance_after`, the sum of entries, or the live one.")
    detail: EntryRef = omittable(
        description="The entry that took it below zero, when found walking a wallet's entries."
    )


class BalanceMissing(ResponseBody):
    """A wallet has entries but no balance item."""

    kind: Literal["balance_missing"]
    account: Account
    currency: Currency
    expected: int = Field(description="The sum of its entries.")


class BalanceVersion(ResponseBody):
    version: int = Field(description="The version at which both were compared.")


class BalanceMismatch(ResponseBody):
    """A wallet's live balance is not the sum of its entries, at the same version."""

    kind: Literal["balance_mismatch"]
    account: Account
    currency: Currency
    expected: int = Field(description="The sum of its entries.")
    found: int = Field(description="The live `available`.")
    detail: BalanceVersion


class BalanceAvailable(ResponseBody):
    available: int = Field(description="The live `available`.")


class BalanceBehindLedger(ResponseBody):
    """An entry exists for a version that the wallet's balance item never reached."""

    kind: Literal["balance_behind_ledger"]
    account: Account
    currency: Currency
    expected: int = Field(description="The newest entry's version.")
    found: int = Field(description="The balance item's version.")
    detail: BalanceAvailable


Mismatch = TypeAliasType(
    "Mismatch",
    Annotated[
        TransactionUnbalanced
        | CurrencyUnbalanced
        | BalanceAfterMismatch
        | VersionGap
        | NegativeBalance
        | BalanceMissing
        | BalanceMismatch
        | BalanceBehindLedger,
        Field(discriminator="kind", description="One finding of the run; its fields depend on `kind`."),
    ],
)


class ReconciliationReport(ResponseBody):
    """The last finished run of the daily `reconcile` job: for entries posted before the cutoff,
    each account's entries sum to its balance and each currency sums to zero."""

    model_config = examples(
        {
            "run_id": "run_5e7a9c1b3d2f4e6a8c0b1d3f5a7c9e2d",
            "run_at": "2026-11-25T02:00:00+08:00",
            "cutoff": "2026-11-25T01:55:00+08:00",
            "started_from": "2026-11-24T01:55:00+08:00",
            "finished_at": "2026-11-25T02:03:41+08:00",
            "ok": False,
            "entries_checked": 184213,
            "currencies": {
                "CNY": {"sum": 0, "accounts_checked": 40127},
                "HKD": {"sum": 0, "accounts_checked": 812},
                "USD": {"sum": 0, "accounts_checked": 1533},
                "EUR": {"sum": 0, "accounts_checked": 407},
                "JPY": {"sum": 0, "accounts_checked": 96},
            },
            "mismatches": [
                {
                    "kind": "balance_mismatch",
                    "account": "user#usr_9b1d3f5a7c2e4b6d8f0a1c3e5b7d9f2a",
                    "currency": "CNY",
                    "expected": 1280050,
                    "found": 1290050,
                    "detail": {"version": 42},
                }
            ],
            "mismatch_count": 1,
        }
    )

    run_id: str
    run_at: Timestamp
    cutoff: Timestamp = Field(description="Entries posted before this moment were checked (run start − 5 min).")
    started_from: Timestamp | None = Field(description="The previous run's cutoff; null for the first run.")
    finished_at: Timestamp
    ok: bool = Field(description="True when the run found no mismatch.")
    entries_checked: int
    currencies: dict[Currency, CurrencyCheck] = Field(description="Every supported currency, checked or not.")
    mismatches: list[Mismatch] = Field(description="At most 100; `mismatch_count` has the total.")
    mismatch_count: int
