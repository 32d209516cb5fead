"""Transaction history, one transaction, and the agents' reconciliation report."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import clock
from chalicelib.api.pagination import page_of
from chalicelib.api.routing import Call, operation
from chalicelib.services.wallet import history, reconciliation


@operation(
    "GET",
    "/me/transactions",
    schemas="history",
    summary="The wallet's transactions, newest first",
    tag="wallet",
    auth="user",
    query="HistoryQuery",
    response="TransactionPage",
    errors=("invalid_cursor",),
    description=(
        "One `{transaction}` per ledger entry of the caller's wallet (a conversion shows its debit and "
        "its credit). `from` is inclusive, `to` exclusive. With `type` or `currency` a page may be "
        "short, even empty, while `next_cursor` is not null. A cursor belongs to the user and the "
        "filters it was issued for; another query's cursor is `400 invalid_cursor`. `to` must be later "
        "than `from` (else `400 validation_error`). Reads are strongly consistent: a movement just made "
        "is on the next first page."
    ),
)
def list_transactions(call: Call) -> dict:
    query = call.query
    filters = history.HistoryFilter(
        type=query.type,
        currency=query.currency,
        since=clock.parse_instant(query.from_) if query.from_ else None,
        until=clock.parse_instant(query.to) if query.to else None,
    )
    scope = filters.scope(call.user.user_id)

    def fetch(limit: int, start: Any) -> tuple[list, Any]:
        page = history.list_transactions(call.user.user_id, filters, limit=limit, start=start)
        return page.data, page.last_key

    return page_of(scope, query, fetch)


@operation(
    "GET",
    "/me/transactions/{transaction_id}",
    schemas="history",
    summary="One transaction as the caller sees it",
    tag="wallet",
    auth="user",
    response="TransactionDetail",
    errors=("not_found",),
    description=(
        "The top level is the caller's primary entry (its debit when it has one, else its first entry); "
        "`entries` are all of the caller's own entries, `legs` the other accounts' sides as "
        "`{account_type, amount, currency}` only (no account id, no balance). A conversion has two "
        "entries (its debit and its credit), every other type one. A transaction the caller is not a "
        "party to, and an unknown id, are `404 not_found`."
    ),
)
def read_transaction(call: Call) -> dict:
    return history.transaction_detail(call.user.user_id, call.params["transaction_id"])


@operation(
    "GET",
    "/admin/reconciliation/latest",
    schemas="history",
    summary="The last finished reconcile run",
    tag="admin",
    auth="agent",
    response="ReconciliationReport",
    errors=("not_found",),
    description=(
        "The last finished run of the daily `reconcile` job (agents only: another role is "
        "`403 forbidden`). For the entries posted before `cutoff` (the run's start − 5 min), each "
        "account's entries sum to its balance and each currency sums to zero over all accounts; "
        "`currencies` has every supported currency's sum and the accounts checked, `mismatches` the "
        "first 100 findings, each shaped by its `kind` (`mismatch_count` has the total; they also go "
        "to the operators' alert topic, once). `ok` is true when nothing was found. "
        "`404 not_found` until the first run has finished."
    ),
)
def latest_reconciliation(call: Call) -> dict:
    return reconciliation.latest_report()
