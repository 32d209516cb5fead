"""The one rule of account protection every area applies (contract v1.2, section 11).

While an account is frozen, nothing leaves it: withdrawals, transfers, payments, conversions, new
funding sources, contact and MFA changes answer `403 account_frozen`, right after validation.
Signing in, receiving money, top-ups, history and support keep working. Freezing and unfreezing
themselves are chalicelib.services.account.freezes; this module only says what a frozen account
may not do, so the wallet and identity services can ask without importing the account layer.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import OkpayError
from chalicelib.store.users import User

FROZEN = "frozen"


def is_frozen(user: User | None) -> bool:
    return user is not None and user.status == FROZEN


def refuse_if_frozen(user: User | None) -> None:
    """`403 account_frozen` for a frozen account's money out and security changes."""
    if is_frozen(user):
        raise OkpayError("account_frozen")


def not_frozen() -> Any:
    """The condition, on the user item, that a write which lets money or control leave holds to:
    a freeze committed after the account was read refuses the whole transaction."""
    return User.status != FROZEN


def still_open() -> Any:
    """The condition on the user item for a write any account but a closed one may make (a frozen
    account still receives money, changes its display name, signs in)."""
    return User.status != "closed"
