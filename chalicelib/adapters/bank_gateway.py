"""The acquiring bank behind top-ups and withdrawals, behind one small interface.

`SimulatedBank` stands in for a real acquirer in the local stage and the tests. Its outcome is fixed
when a card is bound, from the card number (the contract's decline cards), so a top-up with a
stored token behaves the same every time. A real acquirer plugs in by implementing `BankGateway`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol

# Card number -> the outcome every charge on it gets (contract, section 5).
DECLINE_CARDS = {"4000000000000002": "card_declined", "4000000000009995": "bank_insufficient_funds"}


@dataclass(frozen=True)
class BoundCard:
    token: str  # what we store instead of the number
    last4: str
    bank_name: str


class BankGateway(Protocol):
    def bind_card(self, card_number: str, holder_name: str, bank_name: str | None) -> BoundCard: ...

    def charge(self, token: str, amount: int, currency: str, reference: str) -> str | None:
        """Pull money from the card for a top-up; None when approved, else the decline code."""
        ...

    def payout(self, token: str, amount: int, currency: str, reference: str) -> str | None:
        """Send money to the card for a withdrawal; None when accepted, else the decline code."""
        ...


class SimulatedBank:
    """Approves everything except the contract's decline cards; the outcome is in the token."""

    def bind_card(self, card_number: str, holder_name: str, bank_name: str | None) -> BoundCard:
        outcome = DECLINE_CARDS.get(card_number, "approved")
        token = f"sim_{outcome}_{secrets.token_hex(12)}"
        return BoundCard(token=token, last4=card_number[-4:], bank_name=bank_name or _bank_from_bin(card_number))

    def charge(self, token: str, amount: int, currency: str, reference: str) -> str | None:
        return _outcome(token)

    def payout(self, token: str, amount: int, currency: str, reference: str) -> str | None:
        outcome = _outcome(token)
        return outcome if outcome == "card_declined" else None  # a payout needs no funds on the card


def _outcome(token: str) -> str | None:
    for code in ("card_declined", "bank_insufficient_funds"):
        if token.startswith(f"sim_{code}_"):
            return code
    return None


def _bank_from_bin(card_number: str) -> str:
    # A few well-known Chinese issuer prefixes; anything else is named by its network.
    prefixes = {"622202": "中国工商银行", "621700": "中国建设银行", "622848": "中国农业银行", "621661": "中国银行"}
    for prefix, name in prefixes.items():
        if card_number.startswith(prefix):
            return name
    return {"4": "Visa", "5": "Mastercard", "6": "UnionPay", "3": "JCB"}.get(card_number[0], "Bank card")


def gateway() -> BankGateway:
    """The stage's acquirer. Only the simulator exists until a real acquirer is contracted."""
    return SimulatedBank()
