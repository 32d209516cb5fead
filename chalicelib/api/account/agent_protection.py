"""Agents freezing and unfreezing a customer's account (contract v1.2, sections 9 and 11).

The user's own routes (`/me/freeze`, `/auth/freeze*`, `/me/unfreeze*`) call the same service,
chalicelib.services.account.freezes.
"""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.routing import Call, operation
from chalicelib.services.account import freezes

_EFFECTS = (
    "While frozen (`GET /me` shows `status: frozen`), withdrawals, transfers, payments, conversions, new cards, "
    "contact and MFA changes answer `403 account_frozen`; signing in, receiving money, top-ups, history, disputes, "
    "tickets and chat still work."
)


@operation(
    "POST",
    "/admin/users/{user_id}/freeze",
    schemas="protection",
    summary="Freeze a customer's account",
    description=(
        "Stops all money leaving the account at once: `200` with the freeze (`by: agent`) and the id of the "
        "`security` ticket opened for the user, which lists the debits of the 72 hours before the freeze, each with "
        "its `transaction_id` (so the user can dispute it). Every session of the user is revoked in the same write "
        "(their next request is `401 unauthorized`); transfers they are waiting to confirm are canceled; a notice "
        "goes to the verified email and the phone, in the user's language. A payment racing the freeze either "
        "completed before it or is refused.\n\n" + _EFFECTS + "\n\n"
        "Checks, after validation: `404 not_found` (no such account) → `403 own_case` (an agent never freezes "
        "their own account) → `409 account_closed` → `409 already_frozen` (also the loser of two freezes at once)."
    ),
    tag="admin",
    auth="agent",
    body="FreezeRequest",
    response="FreezeResult",
    errors=("not_found", "own_case", "account_closed", "already_frozen"),
)
def freeze_user(call: Call) -> dict:
    agent = freezes.Actor.agent(call.user.user_id)
    return freezes.freeze(call.params["user_id"], call.body.reason, agent, clock.now())


@operation(
    "POST",
    "/admin/users/{user_id}/unfreeze",
    schemas="protection",
    summary="Lift a freeze",
    description=(
        "Lifts any freeze, the user's own or an agent's: `200 {user_id, status: active}`; money can leave the "
        "account again and a notice goes to the verified email and the phone. Both the freeze and its lifting are "
        "in the audit log with the agent and the reason.\n\n"
        "Checks, after validation: `404 not_found` (no such account) → `403 own_case` (an agent never unfreezes "
        "their own account) → `409 not_frozen` (also the loser of two unfreezes at once)."
    ),
    tag="admin",
    auth="agent",
    body="UnfreezeRequest",
    response="UnfreezeResult",
    errors=("not_found", "own_case", "not_frozen"),
)
def unfreeze_user(call: Call) -> dict:
    agent = freezes.Actor.agent(call.user.user_id)
    return freezes.unfreeze(call.params["user_id"], call.body.reason, agent, clock.now())
