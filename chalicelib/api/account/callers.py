"""The signed-in caller's own account, as the `/me` routes load it."""

from __future__ import annotations

from chalicelib.api.routing import Call
from chalicelib.services.account import profile as accounts


def me(call: Call):
    """The caller's account; closed → 401 (services.account.profile.active_account)."""
    return accounts.active_account(call.user.account)


def me_unfrozen(call: Call):
    """The caller's account, refused `403 account_frozen` while frozen."""
    return accounts.unfrozen_account(call.user.account)
