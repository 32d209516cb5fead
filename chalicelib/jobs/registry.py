"""The contract's scheduled jobs by name: each runs at a given moment and returns what it did.

`app.py` schedules them (`app.schedule`) and `POST /_local/jobs/{job}` runs them on demand in the
local stage, with the same `now` handling, so a job behaves the same in both.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any

# name -> the module whose `run(now)` is the job. Imported when a job runs, not with the app: every
# API cold start would otherwise pay for the jobs' modules (thread pools, the reconciler).
JOBS: dict[str, str] = {
    "dispute_sla": "chalicelib.jobs.dispute_sla",
    "ticket_sla": "chalicelib.jobs.ticket_sla",
    "reconcile": "chalicelib.jobs.reconcile",
    "password_age": "chalicelib.jobs.password_age",
    "topup_settle": "chalicelib.jobs.topup_settle",
    "chat_queue": "chalicelib.jobs.chat_queue",
    "order_expiry": "chalicelib.jobs.order_expiry",
    "webhook_dispatch": "chalicelib.jobs.webhook_dispatch",
    "notify_dispatch": "chalicelib.jobs.notify_dispatch",
}


def run_job(name: str, now: datetime) -> dict[str, Any]:
    return importlib.import_module(JOBS[name]).run(now)
