"""`notify_dispatch` job (every minute, contract v1.2 section 1 "Faults"): the retries of notices
(emails and SMS that are not one-time codes) whose send failed, each when its backoff has passed,
for 24 h after the notice was recorded; then `failed` and one alert to the alert topic.

The work is `chalicelib.services.common.notice_outbox.dispatch_due`: one Query per shard of the
sparse GSI `notices.by_send_due` (never a Scan), then per notice a conditional claim, so overlapping
runs (and the request's own first attempt) never send one notice twice at once. Security notices'
"this wasn't me" links are made when sent, by the identity service's `LATE_PARAMS`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.services.common import notice_outbox
from chalicelib.services.identity.notices import LATE_PARAMS

JOB = "notify_dispatch"


def run(now: datetime) -> dict[str, Any]:
    return {"ran_at": clock.isoformat(now), **notice_outbox.dispatch_due(now, LATE_PARAMS)}
