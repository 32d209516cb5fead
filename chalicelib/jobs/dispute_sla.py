"""`dispute_sla` job (every 15 min): an open dispute with no agent reply gets its assignee (or the
support mailbox) reminded at 80 % of the calendar time to `respond_by`; past `respond_by` it is
`escalated`, the support lead alerted and the user told once.

The Query, the conditional steps, the batching and the cursor are chalicelib.jobs.sla_runner's;
this module says which cases and what "still waiting" means for a dispute.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.jobs import sla_runner
from chalicelib.store.disputes import Dispute

JOB = "dispute_sla"


def _waiting_for_an_agent() -> Any:
    # The first agent reply moves `open → under_review` and sets `agent_replied_at`.
    return (Dispute.status == "open") & Dispute.agent_replied_at.does_not_exist()


DISPUTES = sla_runner.SlaCases(
    job=JOB,
    kind="dispute",
    model=Dispute,
    statuses=("open",),
    case_id=lambda dispute: dispute.dispute_id,
    deadline=lambda dispute: dispute.respond_by,
    still_waiting=_waiting_for_an_agent,
)


def run(now: datetime) -> dict[str, Any]:
    return sla_runner.run(DISPUTES, now)
