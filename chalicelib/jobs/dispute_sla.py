"""`dispute_sla` job. Disputes past 80 % of their window get the assignee reminded; past respond_by
with no agent reply they are escalated (filled in by the disputes issue).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters import clock


def run(now: datetime) -> dict[str, Any]:
    # The body arrives with the issue that owns this job; until then a run does nothing and says so.
    return {"ran_at": clock.isoformat(now), "processed": 0}
