"""The acquiring bank behind top-ups and withdrawals, behind one small interface.

`SimulatedBank` stands in for a real acquirer in the local stage and the tests. Its outcome is fixed
when a card is bound, from the card number (the contract's decline cards, and a card whose charges
time out), so a top-up with a stored token behaves the same every time. A real acquirer plugs in by
implementing `BankGateway`.

What the top-up flow (chalicelib/services/wallet/topups.py) relies on, and a real acquirer must offer:
- every charge carries our `reference`, unique per top-up attempt, and the acquirer takes at most
  one charge per reference (a repeated reference gets the first charge's outcome, nothing more);
- `lookup_charge(reference)` answers what happened to it: approved, declined (the code), or
  nothing under that reference — so a charge whose answer was lost is settled by asking, never by
  charging again;
- a call whose outcome is unknown (no answer within the timeout, connection lost) raises
  `GatewayTimeout`; one the bank refused to take raises `GatewayError`. Calls time out well inside
  the Lambda timeout (30 s), which the settle rules in the wallet service count on.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError

from chalicelib.adapters import clock, local_faults
from chalicelib.store.base import BaseModel, StageTable
from chalicelib.store.conditions import condition_failed

APPROVED = "approved"
TIMEOUT = "timeout"

# Card number -> the outcome every charge on it gets (contract, section 5).
DECLINE_CARDS = {"4000000000000002": "card_declined", "4000000000009995": "bank_insufficient_funds"}
# The bank takes the charge, but its answer is lost: the gateway call times out (a top-up answers
# 503 try_again; its retry, or the `topup_settle` job, finds the charge by reference).
TIMEOUT_CARD = "4000000000000119"
SIMULATED_CARDS = {**DECLINE_CARDS, TIMEOUT_CARD: TIMEOUT}

# How long a gateway call waits for the bank's answer: well inside the Lambda timeout (30 s). The
# simulator under a `timeout` fault (PUT /_local/faults) hangs this long; the tests shorten it.
TIMEOUT_SECONDS = 10.0

# How long the simulator remembers a charge (a real acquirer keeps them for years).
SIMULATOR_MEMORY = timedelta(days=400)


class GatewayError(Exception):
    """The bank could not be reached or refused the call; nothing was taken."""


class GatewayTimeout(GatewayError):
    """No answer in time: the charge may or may not have been taken. Ask `lookup_charge`."""


@dataclass(frozen=True)
class BoundCard:
    token: str  # what we store instead of the number
    last4: str
    bank_name: str


class BankGateway(Protocol):
    def bind_card(self, card_number: str, holder_name: str, bank_name: str | None) -> BoundCard: ...

    def charge(self, token: str, amount: int, currency: str, reference: str) -> str | None:
        """Pull money from the card for a top-up; None when approved, else the decline code.

        At most one charge per `reference`: a repeated reference answers the first one's outcome.
        Raises `GatewayTimeout` when the outcome is unknown, `GatewayError` when nothing was taken.
        """
        ...

    def lookup_charge(self, reference: str) -> str | None:
        """What became of the charge under `reference`: `APPROVED`, a decline code, or None (none)."""
        ...

    def payout(self, token: str, amount: int, currency: str, reference: str) -> str | None:
        """Send money to the card for a withdrawal; None when accepted, else the decline code."""
        ...


class SimulatedCharge(BaseModel):
    """The simulator's memory of a charge, by our reference (table `bank-simulator`).

    Kept in DynamoDB rather than in the process, so the answer survives the app process (a crash,
    another Lambda instance): it is the bank's side of the conversation, not ours.
    """

    class Meta(metaclass=StageTable):
        table = "bank-simulator"

    reference = UnicodeAttribute(hash_key=True)
    token = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    outcome = UnicodeAttribute()  # APPROVED or the decline code
    charged_at = UnicodeAttribute()
    expires_ttl = TTLAttribute()


class SimulatedBank:
    """Approves everything except the contract's decline cards and the timeout card; the outcome is
    in the token. Charges are remembered by reference, one per reference, in table `bank-simulator`."""

    def bind_card(self, card_number: str, holder_name: str, bank_name: str | None) -> BoundCard:
        outcome = SIMULATED_CARDS.get(card_number, APPROVED)
        token = f"sim_{outcome}_{secrets.token_hex(12)}"
        return BoundCard(token=token, last4=card_number[-4:], bank_name=bank_name or _bank_from_bin(card_number))

    def charge(self, token: str, amount: int, currency: str, reference: str) -> str | None:
        fault = _refuse_if_down()
        behaviour = _behaviour(token)
        now = clock.now()
        taken = SimulatedCharge(
            reference,
            token=token,
            amount=amount,
            currency=currency,
            outcome=APPROVED if behaviour == TIMEOUT else behaviour,
            charged_at=clock.stamp(now),
            expires_ttl=now + SIMULATOR_MEMORY,
        )
        try:
            taken.save(condition=SimulatedCharge.reference.does_not_exist())
        except PutError as error:
            if not condition_failed(error):
                raise
            # A repeated reference: the first charge stands, nothing more is taken.
            taken = SimulatedCharge.get(reference, consistent_read=True)
        if fault == "timeout":  # the bank took it, its answer never comes
            _hang(reference)
        if behaviour == TIMEOUT:
            raise GatewayTimeout(f"no answer from the bank for {reference}")
        return None if taken.outcome == APPROVED else taken.outcome

    def lookup_charge(self, reference: str) -> str | None:
        if _refuse_if_down() == "timeout":
            _hang(reference)
        try:
            return SimulatedCharge.get(reference, consistent_read=True).outcome
        except SimulatedCharge.DoesNotExist:
            return None

    def payout(self, token: str, amount: int, currency: str, reference: str) -> str | None:
        fault = _refuse_if_down()  # `down`: refused, nothing paid out
        outcome = _outcome(token)
        if fault == "timeout":  # the bank pays it out, its answer never comes
            _hang(reference)
        return outcome if outcome == "card_declined" else None  # a payout needs no funds on the card


def _refuse_if_down() -> str | None:
    """The local stage's injected bank fault (section 10): `down` refuses the call, nothing taken;
    "timeout" (returned) is the caller's to act out once the charge is taken."""
    fault = local_faults.bank_fault()
    if fault == "down":
        raise GatewayError("the bank is unavailable")
    return fault


def _hang(reference: str) -> None:
    time.sleep(TIMEOUT_SECONDS)
    raise GatewayTimeout(f"no answer from the bank for {reference} within {TIMEOUT_SECONDS} s")


def _behaviour(token: str) -> str:
    """What the simulator does with a charge on this token: APPROVED, a decline code, or TIMEOUT."""
    if token.startswith(f"sim_{TIMEOUT}_"):
        return TIMEOUT
    return _outcome(token) or APPROVED


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
