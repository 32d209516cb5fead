"""`ticket_sla` job. Tickets nearing or past their first-response due time: remind, then escalate
(filled in by the tickets issue).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters import clock


def run(now: datetime) -> dict[str, Any]:
    # The body arrives with the issue that owns this job; until then a run does nothing and says so.
    return {"ran_at": clock.isoformat(now), "processed": 0}
