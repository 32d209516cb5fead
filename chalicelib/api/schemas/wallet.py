"""Request and response models of the wallet routes (chalicelib/api/wallet/wallet.py), and the
contract's `{transaction}`, which every money-moving route answers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints
from typing_extensions import TypeAliasType

from chalicelib.api.schemas.common import (
    Amount,
    Currency,
    MoneyAmount,
    RequestBody,
    ResponseBody,
    Timestamp,
    examples,
    omittable,
)
from chalicelib.api.schemas.identity import Password

# --- balances and limits -------------------------------------------------------------------------


class BalanceItem(ResponseBody):
    currency: Currency
    available: int = Field(description="What can be spent, in the currency's minor units (0 when never held).")


class LimitItem(ResponseBody):
    """What the KYC level still lets the user send, in CNY equivalent: payments and transfers count;
    withdrawals to the user's own card and conversions do not."""

    window: Literal["lifetime", "year"] = Field(
        description=(
            "`lifetime` at level 1 (1,000 CNY in all); `year` at level 2 and above (a calendar year, Asia/Shanghai)."
        )
    )
    cap: int = Field(description="The level's cap, CNY minor units.")
    used: int = Field(description="Sent in the window so far, CNY minor units.")
    remaining: int = Field(description="`cap − used`, never below 0; CNY minor units.")
    resets_at: Timestamp | None = Field(description="When the window starts again; null for `lifetime`.")


class WalletState(ResponseBody):
    model_config = examples(
        {
            "balances": [
                {"currency": "CNY", "available": 1280050},
                {"currency": "HKD", "available": 0},
                {"currency": "USD", "available": 1380},
                {"currency": "EUR", "available": 0},
                {"currency": "JPY", "available": 0},
            ],
            "limits": [
                {
                    "window": "year",
                    "cap": 10000000,
                    "used": 1250000,
                    "remaining": 8750000,
                    "resets_at": "2027-01-01T00:00:00+08:00",
                }
            ],
        }
    )

    balances: list[BalanceItem] = Field(description="One item per supported currency, in a fixed order.")
    limits: list[LimitItem] = Field(
        description="The KYC level's sending limit; empty at level 0, which only receives and tops up."
    )


# --- bank cards ----------------------------------------------------------------------------------


class CardAdd(RequestBody):
    model_config = examples(
        {
            "type": "bank_card",
            "card_number": "6222 0212 3418 0128",
            "holder_name": "张三",
            "bank_name": "中国工商银行",
            "password": "correct horse battery staple",
        }
    )

    type: Literal["bank_card"]
    card_number: Annotated[str, StringConstraints(min_length=12, max_length=23)] = Field(
        description="Digits (spaces and dashes allowed), Luhn-checked; never stored, logged or returned."
    )
    holder_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="As printed on the card. Withdrawals need it to equal the verified real name."
    )
    bank_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = Field(
        default=None, description="Without it, the issuer is named from the card number."
    )
    password: Password = Field(
        description="The account password (re-authentication): wrong → `422 invalid_password`; never stored or logged."
    )


class Card(ResponseBody):
    model_config = examples(
        {
            "funding_source_id": "fs_3f9c2a7e1b5d4c8e9a0b1c2d3e4f5a6b",
            "type": "bank_card",
            "last4": "0128",
            "bank_name": "中国工商银行",
            "holder_name": "张三",
            "created_at": "2026-11-24T09:30:00+08:00",
        }
    )

    funding_source_id: str
    type: Literal["bank_card"]
    last4: str = Field(description="The last 4 digits: the only part of the number kept.")
    bank_name: str | None = Field(
        description="As given when the card was added, else the issuer named from the card number; null if unknown."
    )
    holder_name: str
    created_at: Timestamp


class CardList(ResponseBody):
    model_config = examples(
        {
            "data": [
                {
                    "funding_source_id": "fs_3f9c2a7e1b5d4c8e9a0b1c2d3e4f5a6b",
                    "type": "bank_card",
                    "last4": "0128",
                    "bank_name": "中国工商银行",
                    "holder_name": "张三",
                    "created_at": "2026-11-24T09:30:00+08:00",
                }
            ]
        }
    )

    data: list[Card] = Field(description="Every card of the user (not paged).")


class TopUp(RequestBody):
    model_config = examples(
        {"funding_source_id": "fs_3f9c2a7e1b5d4c8e9a0b1c2d3e4f5a6b", "amount": 50000, "currency": "CNY"}
    )

    funding_source_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    amount: Amount
    currency: Currency


# --- the contract's {transaction} ----------------------------------------------------------------


class UserCounterparty(ResponseBody):
    """The other user of a transfer: the payee on the payer's debit, the payer on the payee's credit."""

    kind: Literal["user"]
    id: str = Field(description="Their `user_id`.")
    masked_name: str | None = Field(
        description="Their verified real name masked (张三 → *三), as at the transfer; null if they had none."
    )


class MerchantCounterparty(ResponseBody):
    """The shop or biller paid."""

    kind: Literal["merchant"]
    id: str = Field(description="The `merchant_id` (GET /merchants).")
    name: str = Field(description="The merchant's name in the payer's language at the time of payment.")


class FundingSourceCounterparty(ResponseBody):
    """The bank card topped up from or withdrawn to (the card may have been removed since)."""

    kind: Literal["funding_source"]
    id: str = Field(description="The card's `funding_source_id`.")
    name: str | None = Field(description="The card's bank name (`bank_name`); null if unknown.")
    last4: str = Field(description="The card's last 4 digits.")


Counterparty = TypeAliasType(
    "Counterparty",
    Annotated[
        UserCounterparty | MerchantCounterparty | FundingSourceCounterparty,
        Field(discriminator="kind", description="Who or what is on the other side, by `kind`."),
    ],
)


class ConversionFx(ResponseBody):
    """The rate and both amounts of a conversion, as recorded when it was posted."""

    model_config = examples(
        {"rate": "0.138", "from": {"amount": 10000, "currency": "CNY"}, "to": {"amount": 1380, "currency": "USD"}}
    )

    rate: Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?$")] = Field(
        description="`rates[to] / rates[from]` as a plain decimal string (16 significant digits at most)."
    )
    from_: MoneyAmount = Field(alias="from", description="Debited, in `from_currency`.")
    to: MoneyAmount = Field(
        description=("Credited: `floor(amount × rates[to] / rates[from] × 10^(exp[to] − exp[from]))`, one rounding.")
    )


TransactionType = Literal["topup", "withdrawal", "transfer", "payment", "refund", "conversion", "adjustment"]

TOPUP_EXAMPLE = {
    "transaction_id": "txn_8d1f0c3b5a7e4f29b6c2d4e8a1f3b5c7",
    "entry_id": "ent_2b7e9a4c6d1f4e8a9c3b5d7f1a2e4c6b",
    "type": "topup",
    "direction": "credit",
    "amount": 50000,
    "currency": "CNY",
    "status": "completed",
    "counterparty": {
        "kind": "funding_source",
        "id": "fs_3f9c2a7e1b5d4c8e9a0b1c2d3e4f5a6b",
        "name": "中国工商银行",
        "last4": "0128",
    },
    "description": "银行卡充值（中国工商银行 尾号 0128）",
    "created_at": "2026-11-24T09:30:00+08:00",
    "balance_after": 1280050,
}
PAYMENT_EXAMPLE = {
    "transaction_id": "txn_5c9e1a3f7b2d4c6e8a0f2b4d6c8e1a3f",
    "entry_id": "ent_7a2c4e6b8d1f4a3c5e7b9d2f4a6c8e1b",
    "type": "payment",
    "direction": "debit",
    "amount": 2800,
    "currency": "CNY",
    "status": "completed",
    "counterparty": {"kind": "merchant", "id": "mer_morning_cafe", "name": "晨光咖啡"},
    "description": "向晨光咖啡付款",
    "created_at": "2026-11-24T09:35:12+08:00",
    "balance_after": 1277250,
}
WITHDRAWAL_EXAMPLE = {
    "transaction_id": "txn_1e3a5c7b9d2f4e6a8c0b2d4f6a8c1e3b",
    "entry_id": "ent_9c1e3a5f7b2d4c6e8a0b2d4f6a8c3e5d",
    "type": "withdrawal",
    "direction": "debit",
    "amount": 100000,
    "currency": "CNY",
    "status": "completed",
    "counterparty": {
        "kind": "funding_source",
        "id": "fs_3f9c2a7e1b5d4c8e9a0b1c2d3e4f5a6b",
        "name": "中国工商银行",
        "last4": "0128",
    },
    "description": "提现至银行卡（中国工商银行 尾号 0128）",
    "created_at": "2026-11-24T10:02:45+08:00",
    "balance_after": 1177250,
}
CONVERSION_EXAMPLE = {
    "transaction_id": "txn_4b6d8f1a3c5e4a7c9e2b4d6f8a1c3e5b",
    "entry_id": "ent_6e8a1c3b5d7f4b9a2c4e6a8c1e3b5d7f",
    "type": "conversion",
    "direction": "debit",
    "amount": 10000,
    "currency": "CNY",
    "status": "completed",
    "description": "货币兑换 CNY → USD",
    "created_at": "2026-11-24T10:15:00+08:00",
    "balance_after": 1167250,
    "fx": {"rate": "0.138", "from": {"amount": 10000, "currency": "CNY"}, "to": {"amount": 1380, "currency": "USD"}},
}
TRANSFER_ENTRY_EXAMPLE = {
    "transaction_id": "txn_7f9b1d3e5a2c4e6b8d0f2a4c6e8b1d3f",
    "entry_id": "ent_3d5f7b9a1c2e4a6c8e0b2d4f6a8c1e3d",
    "type": "transfer",
    "direction": "debit",
    "amount": 12800,
    "currency": "CNY",
    "status": "completed",
    "counterparty": {"kind": "user", "id": "usr_0d2f4b6a8c1e4a3c5e7b9d1f3a5c7e9b", "masked_name": "*四"},
    "description": "午饭钱",
    "created_at": "2026-11-24T12:05:30+08:00",
    "balance_after": 1154450,
}


class Transaction(ResponseBody):
    """One ledger entry of the caller's wallet (the contract's `{transaction}`). A conversion is two
    entries sharing one `transaction_id`: the debit in `from_currency` and the credit in
    `to_currency`. A refund or reversal is a new transaction, never an edit."""

    model_config = examples(
        TOPUP_EXAMPLE, PAYMENT_EXAMPLE, WITHDRAWAL_EXAMPLE, CONVERSION_EXAMPLE, TRANSFER_ENTRY_EXAMPLE
    )

    transaction_id: str = Field(description="The movement; every entry (leg) of it shares this id.")
    entry_id: str = Field(description="This entry.")
    type: TransactionType
    direction: Literal["debit", "credit"] = Field(description="`debit`: money left the wallet; `credit`: it came in.")
    amount: int = Field(description="Positive, in the currency's minor units.")
    currency: Currency
    status: Literal["completed"] = Field(description="Only completed movements are in the ledger.")
    counterparty: Counterparty = omittable(
        description="The other side; absent when there is none (conversions, refunds, adjustments)."
    )
    description: str = Field(
        description="Human text: the payment's description, a transfer's note, or a standard text; may be empty."
    )
    created_at: Timestamp
    balance_after: int | None = Field(description="The wallet's balance in this currency right after this entry.")
    fx: ConversionFx = omittable(description="On both entries of a conversion; absent on every other type.")
