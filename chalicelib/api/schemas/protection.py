"""Request and response models of account protection (chalicelib/api/account/agent_protection.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.api.schemas.account import FreezeState
from chalicelib.api.schemas.common import RequestBody, ResponseBody, examples

USER_ID = "usr_8f14e45fceea4f6b9c1d2e3f4a5b6c7d"
TICKET_ID = "tkt_3c59dc048e8850243be8079a5c74d079"

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class FreezeRequest(RequestBody):
    model_config = examples({"reason": "客户来电称手机丢失，要求冻结"}, {"reason": "Card testing pattern on 3 payees"})

    reason: Reason = Field(description="Why (free text, 1–500 characters after trimming); kept in the audit log.")


class UnfreezeRequest(RequestBody):
    model_config = examples({"reason": "客户到柜台核验身份后要求解冻"})

    reason: Reason = Field(description="Why the freeze is lifted (free text, 1–500 characters after trimming).")


class FreezeResult(ResponseBody):
    model_config = examples(
        {
            "user_id": USER_ID,
            "status": "frozen",
            "freeze": {"reason": "客户来电称手机丢失，要求冻结", "at": "2026-11-26T09:02:45+08:00", "by": "agent"},
            "ticket_id": TICKET_ID,
        }
    )

    user_id: str
    status: Literal["frozen"]
    freeze: FreezeState
    ticket_id: str = Field(
        description="The `security` ticket opened for the user, listing the debits of the 72 hours before the freeze."
    )


class UnfreezeResult(ResponseBody):
    model_config = examples({"user_id": USER_ID, "status": "active"})

    user_id: str
    status: Literal["active"]
