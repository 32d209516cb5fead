"""`password_age` job. One reminder per 180-day period to users whose password is old (filled in by the
identity issue).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters import clock


def run(now: datetime) -> dict[str, Any]:
    # The body arrives with the issue that owns this job; until then a run does nothing and says so.
    return {"ran_at": clock.isoformat(now), "processed": 0}
