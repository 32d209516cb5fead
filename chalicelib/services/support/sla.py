"""The SLA clock shared by disputes and tickets: when to remind, when to escalate.

A case carries `sla_stage` (`none` → `reminded` → `escalated`) and `sla_due`, the time of its
next step: 80 % of the calendar time from filing to the deadline, then the deadline itself. The
jobs move a case on with a conditional update on the stage they read, so overlapping or repeated
runs take each step once, and only the run that took it sends its notices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

REMINDER_SHARE = 0.8  # remind at 80 % of the window
STAGES = ("none", "reminded", "escalated")


def reminder_at(start: datetime, due: datetime) -> datetime:
    return start + (due - start) * REMINDER_SHARE


@dataclass(frozen=True)
class Step:
    stage: str  # the stage the case moves to: "reminded" | "escalated"
    next_due: datetime | None  # the following step's time; None once escalated


def next_step(stage: str, due: datetime, now: datetime) -> Step:
    """The step a case at `stage` takes now; a reminder that comes too late is skipped."""
    if stage == "none" and now < due:
        return Step("reminded", due)
    return Step("escalated", None)


def has_next_step(stage: str | None) -> bool:
    """False once escalated (or for a stage this code does not know): nothing more to do or tell."""
    return (stage or "none") in STAGES[:2]
