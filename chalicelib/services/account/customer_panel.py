"""A customer as support agents see them (contract v1.2, section 9): found by an exact contact or id,
and the panel beside a case — the profile as `GET /me` shows it, the wallet, the freeze, open cases,
the security log — and their history as they see it.

Finding is exact and never a scan: a phone or email is one GetItem on its claim (`claims`, the same
uniqueness records sign-in uses), a user id one GetItem on `users`. Only a verified email is claimed,
so an address a user typed but never verified finds nobody (search by phone or id instead); a
closed account has released its contacts and is found by id only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.services.account.profile import profile
from chalicelib.services.account.summary import kyc_summary
from chalicelib.services.common.emails import normalize_email
from chalicelib.services.common.phones import normalize_phone
from chalicelib.services.support.chats import open_chat_ids
from chalicelib.services.wallet import history
from chalicelib.services.wallet.topups import summary as wallet_summary
from chalicelib.store.disputes import UNSETTLED_STATUSES, Dispute
from chalicelib.store.security_events import event_view, recent_security_events
from chalicelib.store.tickets import Ticket
from chalicelib.store.users import User, email_claim, find_claim_owner, get_user, phone_claim

SECURITY_EVENTS_SHOWN = 20
OPEN_TICKET_STATUSES = ("new", "open", "pending")  # not solved or closed


def find_customers(*, phone: str | None, email: str | None, user_id: str | None) -> list[dict[str, Any]]:
    """The one account with exactly this phone (without `+`: +86), verified email (any case) or id;
    an empty list when there is none. Exactly one of them is given (the edge checks)."""
    if phone is not None:
        owner = find_claim_owner(phone_claim(normalize_phone(phone)))
    elif email is not None:
        owner = find_claim_owner(email_claim(normalize_email(email)))
    else:
        owner = user_id
    user = get_user(owner) if owner and owner.startswith("usr_") else None
    return [_search_row(user)] if user is not None else []


def _search_row(user: User) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "display_name": user.display_name,
        "phone": user.phone,
        "email": user.email,
        "kyc": kyc_summary(user.user_id),
        "status": user.status,
        "created_at": clock.isoformat(clock.from_stamp(user.created_at)),
    }


def customer(user_id: str) -> User:
    """The account an agent asks about; 404 when there is none."""
    user = get_user(user_id) if user_id.startswith("usr_") else None
    if user is None:
        raise OkpayError("not_found")
    return user


def customer_view(user_id: str, now: datetime) -> dict[str, Any]:
    """The customer panel: the profile as `GET /me` shows it (with `status` as stored: also
    `closed`), balances and limits as `GET /me/wallet`, the freeze, open cases and the last 20
    security events."""
    user = customer(user_id)
    view = profile(user, now)
    view["status"] = user.status  # the profile's freeze comes with it
    wallet = wallet_summary(user.user_id, now)
    view["balances"], view["limits"] = wallet["balances"], wallet["limits"]
    view["open_cases"] = open_cases(user.user_id)
    events, _ = recent_security_events(user.user_id, SECURITY_EVENTS_SHOWN)
    view["security_events"] = [event_view(event) for event in events]
    return view


def open_cases(user_id: str) -> dict[str, list[str]]:
    """Ids of the user's unsettled disputes (open, under review, awaiting approval), unsolved tickets
    and waiting or live chats: one Query each on the user's own index partition."""
    disputes = Dispute.by_user.query(user_id, filter_condition=Dispute.status.is_in(*UNSETTLED_STATUSES))
    tickets = Ticket.by_user.query(user_id, filter_condition=Ticket.status.is_in(*OPEN_TICKET_STATUSES))
    return {
        "disputes": [dispute.dispute_id for dispute in disputes],
        "tickets": [ticket.ticket_id for ticket in tickets],
        "chats": open_chat_ids(user_id),
    }


def customer_transactions(
    user_id: str, filters: history.HistoryFilter, *, limit: int, start: Any = None
) -> history.HistoryPage:
    """The customer's history exactly as they see it in `GET /me/transactions`; 404 for no such user."""
    customer(user_id)
    return history.list_transactions(user_id, filters, limit=limit, start=start)


def transactions_scope(user_id: str, filters: history.HistoryFilter) -> str:
    """What an agent's cursor is signed for: this customer and these filters (not the user's own list)."""
    return f"agent#{filters.scope(user_id)}"
