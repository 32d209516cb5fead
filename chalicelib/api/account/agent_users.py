"""The agents' customer tools (contract v1.2, section 9): find a customer, their panel, their history.

Read-only routes; freezing and unfreezing a customer live with account protection.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import clock
from chalicelib.api.pagination import page_of
from chalicelib.api.routing import Call, operation
from chalicelib.services.account import customer_panel
from chalicelib.services.wallet import history


@operation(
    "GET",
    "/admin/users",
    schemas="agent_users",
    summary="Find a customer by exact phone, email or user id",
    description=(
        "Exactly one of `phone`, `email` or `user_id` (none, or more than one: `400 validation_error`); an exact "
        "match only, never a search over all accounts. A phone is E.164, one without `+` is read as +86. An email "
        "matches in any case, and only once verified on the account (an unverified address finds nobody: use the "
        "phone or the id). A closed account has released its contacts: it is found by `user_id` only. `200` with "
        "the one match in `data`, or an empty `data` (never 404)."
    ),
    tag="admin",
    auth="agent",
    query="UserSearchQuery",
    response="UserSearch",
)
def find_users(call: Call) -> dict:
    query = call.query
    rows = customer_panel.find_customers(phone=query.phone, email=query.email, user_id=query.user_id)
    return {"data": rows}


@operation(
    "GET",
    "/admin/users/{user_id}",
    schemas="agent_users",
    summary="The customer panel: profile, wallet, freeze, open cases, security log",
    description=(
        "The account as `GET /me` shows it to its owner (with `status` as stored, `closed` too), plus `balances` "
        "and `limits` as `GET /me/wallet` shows them, `freeze` while frozen (`reason`, `at`, `by`), the ids of "
        "its `open_cases` (disputes open, under review or awaiting approval; tickets neither solved nor closed; "
        "waiting or live chats) and its last 20 `security_events`, newest first. No such account: "
        "`404 not_found`."
    ),
    tag="admin",
    auth="agent",
    response="CustomerView",
    errors=("not_found",),
)
def read_user(call: Call) -> dict:
    return customer_panel.customer_view(call.params["user_id"], clock.now())


@operation(
    "GET",
    "/admin/users/{user_id}/transactions",
    schemas="agent_users",
    summary="The customer's transactions as they see them",
    description=(
        "Exactly `GET /me/transactions` of that customer: one `{transaction}` per ledger entry of their wallet, "
        "newest first, with the same filters (`type`, `currency`, `from` inclusive, `to` exclusive) and paging; a "
        "page may be short while `next_cursor` is not null. A cursor belongs to this customer and these filters "
        "(else `400 invalid_cursor`). No such account: `404 not_found`."
    ),
    tag="admin",
    auth="agent",
    query="HistoryQuery",
    response="TransactionPage",
    errors=("invalid_cursor", "not_found"),
)
def list_user_transactions(call: Call) -> dict:
    user_id, query = call.params["user_id"], call.query
    filters = history.HistoryFilter(
        type=query.type,
        currency=query.currency,
        since=clock.parse_instant(query.from_) if query.from_ else None,
        until=clock.parse_instant(query.to) if query.to else None,
    )

    def fetch(limit: int, start: Any) -> tuple[list, Any]:
        page = customer_panel.customer_transactions(user_id, filters, limit=limit, start=start)
        return page.data, page.last_key

    return page_of(customer_panel.transactions_scope(user_id, filters), query, fetch)
