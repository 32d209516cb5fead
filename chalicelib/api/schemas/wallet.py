"""Request and response models of the wallet routes (chalicelib/api/wallet/wallet.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from chalicelib.api.schemas.common import Amount, Currency, RequestBody, ResponseBody
from chalicelib.api.schemas.identity import Password


class BalanceItem(ResponseBody):
    currency: Currency
    available: int = Field(description="Minor units.")


class LimitItem(ResponseBody):
    window: Literal["lifetime", "year"]
    cap: int = Field(description="CNY minor units.")
    used: int
    remaining: int
    resets_at: str | None


class WalletState(ResponseBody):
    balances: list[BalanceItem]
    limits: list[LimitItem]


class CardAdd(RequestBody):
    type: Literal["bank_card"]
    card_number: Annotated[str, StringConstraints(min_length=12, max_length=23)] = Field(
        description="Digits (spaces and dashes allowed); never stored, logged or returned."
    )
    holder_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    bank_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None
    password: Password


class Card(ResponseBody):
    funding_source_id: str
    type: Literal["bank_card"]
    last4: str
    bank_name: str | None
    holder_name: str
    created_at: str


class CardList(ResponseBody):
    data: list[Card]


class TopUp(RequestBody):
    funding_source_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    amount: Amount
    currency: Currency


class Counterparty(ResponseBody):
    kind: Literal["user", "merchant", "funding_source"]
    id: str | None = None
    name: str | None = None
    masked_name: str | None = None
    last4: str | None = None


class Transaction(ResponseBody):
    transaction_id: str
    entry_id: str
    type: Literal["topup", "withdrawal", "transfer", "payment", "refund", "conversion", "adjustment"]
    direction: Literal["debit", "credit"]
    amount: int
    currency: Currency
    status: Literal["completed"]
    counterparty: Counterparty | None = None
    description: str
    created_at: str
    balance_after: int | None
    fx: dict[str, Any] | None = None
