"""The contract's scheduled jobs by name: each runs at a given moment and returns what it did.

`app.py` schedules them (`app.schedule`) and `POST /_local/jobs/{job}` runs them on demand in the
local stage, with the same `now` handling, so a job behaves the same in both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.jobs import dispute_sla, password_age, reconcile, ticket_sla

Job = Callable[[datetime], dict[str, Any]]

JOBS: dict[str, Job] = {
    "dispute_sla": dispute_sla.run,
    "ticket_sla": ticket_sla.run,
    "reconcile": reconcile.run,
    "password_age": password_age.run,
}


def run_job(name: str, now: datetime) -> dict[str, Any]:
    return JOBS[name](now)
