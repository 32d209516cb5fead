"""What other areas say about an account: its KYC standing, and what stops it being closed.

Identity asks here instead of importing the wallet and KYC services directly; each area adds its
facts as it lands (verification level, balances, open transfers and disputes).
"""

from __future__ import annotations

from chalicelib.services.kyc.cases import status_of
from chalicelib.services.wallet.ledger import user_account
from chalicelib.store.disputes import UNSETTLED_STATUSES, Dispute
from chalicelib.store.kyc import get_case
from chalicelib.store.wallet import Balance


def kyc_summary(user_id: str) -> dict:
    """`{status, level}` for GET /me."""
    case = get_case(user_id)
    return {"status": status_of(case), "level": int(case.level or 0) if case else 0}


def closing_blockers(user_id: str) -> list[str]:
    """Reasons the account cannot be closed yet (money held, cases open); empty when none.

    Money: one strongly consistent Query on the wallet's `balances` items (every currency of
    `user#<id>`); a non-zero balance in any currency blocks closing (`409 account_not_empty`).
    An open dispute blocks it too: its refund would have no wallet to go to.
    """
    blockers = [
        f"balance:{item.currency}"
        for item in Balance.query(user_account(user_id), consistent_read=True)
        if int(item.available or 0) != 0
    ]
    open_disputes = Dispute.by_user.query(user_id, filter_condition=Dispute.status.is_in(*UNSETTLED_STATUSES))
    blockers += [f"dispute:{dispute.dispute_id}" for dispute in open_disputes]
    return blockers
