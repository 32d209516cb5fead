"""What the `dispute_sla` and `ticket_sla` jobs share: find the cases whose next SLA step is due,
take each step once, then tell the people it concerns.

A case waiting for its first agent reply carries `sla_stage` and `sla_due` (chalicelib.services.support.sla);
GSI `by_sla_due` (`status`, `sla_due`) is sparse, so a Query `status = :s AND sla_due <= now`, oldest
first, reads exactly the cases with a step to take (never a Scan). Per case the run *claims* the step
with a conditional UpdateItem on the stage and `sla_due` it read (and on the case still waiting for
an agent) before any notice goes out: a failed condition means another run took the step, or an
agent answered, so overlapping or repeated runs notify nothing twice.

Each escalated case's user is told once, in their language, right after the page that escalated
it. Staff get digests per batch (the steps of up to `PAGE` cases, over statuses; sent when a batch is
full and when the run ends, however it ends): one email per recipient for the reminders (the
assignee agent, else the support mailbox) and one alert to the support lead (the alert topic)
listing the escalations, so a backlog of 1,000 overdue cases pages the lead ten times, not 1,000.

A run stops after `TIME_BUDGET` seconds or `MAX_CASES` cases (the Lambda timeout is 30 s), checked
between pages, and saves where it stopped (the status and the page's last evaluated key, `counters`
`job#<name>`), so the next run goes on from there; a finished run clears it. Cases taken leave the
range (their `sla_due` moves on or goes), so starting over is always correct too: the cursor is
there so that a case that keeps failing (a throttled write) cannot starve the cases behind it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, NamedTuple

from pynamodb.exceptions import UpdateError

from chalicelib.adapters import clock, notify
from chalicelib.adapters.config import get_settings
from chalicelib.adapters.logging import logger
from chalicelib.i18n.locale import pick
from chalicelib.i18n.support_templates import CASE_KINDS, SLA_REMINDER_LINE
from chalicelib.services.common import notice_outbox
from chalicelib.services.support import case_notices, sla
from chalicelib.store.audit import AuditEvent, audit_event
from chalicelib.store.conditions import condition_failed
from chalicelib.store.job_state import read_position, save_position
from chalicelib.store.users import User

PAGE = 100  # cases per Query page, and per staff digest
TIME_BUDGET = 20.0  # seconds of real time per run, checked between pages (Lambda timeout 30 s)
MAX_CASES = 5000  # per run; the next run goes on from the cursor
WORKERS = 4  # cases claimed and users told concurrently (kept low: SES has a sending rate)
QUEUE_LOCALE = "zh-CN"  # the support mailbox's language, as agents' default


class SlaCases(NamedTuple):
    """What differs between disputes and tickets."""

    job: str  # "dispute_sla"
    kind: str  # "dispute" | "ticket": audit subjects `<kind>#<id>`, notice `<kind>_escalated`
    model: Any  # the PynamoDB model, with `by_sla_due`, `sla_stage`, `sla_due`, `escalated`, …
    statuses: tuple[str, ...]  # the `by_sla_due` partitions to read, in order
    case_id: Callable[[Any], str]
    deadline: Callable[[Any], str]  # the stamp the SLA counts to (`respond_by`, `first_response_due`)
    still_waiting: Callable[[], Any]  # the condition: no agent reply yet, still in an SLA status

    @property
    def actor(self) -> str:
        return f"job#{self.job}"


class Taken(NamedTuple):
    """A step this run claimed, and so must announce."""

    case: Any
    stage: str  # "reminded" | "escalated"
    deadline: datetime


class Cursor(NamedTuple):
    status: str
    after: dict[str, Any] | None  # the last evaluated key in `status`; None: from its start

    def dump(self) -> str:
        return json.dumps({"status": self.status, "after": self.after}, sort_keys=True)


def run(cases: SlaCases, now: datetime) -> dict[str, Any]:
    started = time.monotonic()
    tally: Counter[str] = Counter()
    batch: list[Taken] = []  # steps taken whose staff digest and lead alert are not sent yet
    saved = written = _read_cursor(cases)
    stopped_at: Cursor | None = None  # where the next run starts; None: from the beginning
    pages = 0
    try:
        for status in _status_order(cases.statuses, saved):
            start = saved.after if saved is not None and saved.status == status else None
            while True:
                if pages and (time.monotonic() - started > TIME_BUDGET or tally["checked"] >= MAX_CASES):
                    stopped_at = Cursor(status, start)
                    break
                results = cases.model.by_sla_due.query(
                    status,
                    cases.model.sla_due <= clock.stamp(now),
                    limit=PAGE,
                    page_size=PAGE,
                    last_evaluated_key=start,
                )
                page = list(results)
                pages += 1
                batch += _work_page(cases, page, now, tally)
                if len(batch) >= PAGE:
                    _notify_staff(cases, batch)
                    batch = []
                start = results.last_evaluated_key
                if start is None:
                    break  # this status is done
                written = _save_cursor(cases, Cursor(status, start), written, now)  # survives a timeout
            if stopped_at is not None:
                break
        _save_cursor(cases, stopped_at, written, now)
    finally:
        _notify_staff(cases, batch)  # what was claimed is announced, whatever stopped the run
    result = {
        "ran_at": clock.isoformat(now),
        "checked": tally["checked"],
        "reminded": tally["reminded"],
        "escalated": tally["escalated"],
        "skipped": tally["skipped"],
        "failed": tally["failed"],
        "pages": pages,
        "finished": stopped_at is None,
    }
    logger.info("sla job run", extra={"job": cases.job, **result})
    if tally["checked"]:
        _record_run(cases, result, now)
    return result


# --- the cursor -----------------------------------------------------------------------------------


def _read_cursor(cases: SlaCases) -> Cursor | None:
    raw = read_position(cases.job)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        status, after = data["status"], data["after"]
    except (ValueError, TypeError, KeyError):
        logger.warning("sla job cursor unreadable, starting over", extra={"job": cases.job})
        return None
    if status not in cases.statuses or not (after is None or isinstance(after, dict)):
        return None
    return Cursor(status, after)


def _save_cursor(cases: SlaCases, cursor: Cursor | None, written: Cursor | None, now: datetime) -> Cursor | None:
    """Write the cursor when it moved (empty: start over) and return it; overlapping runs: the last wins."""
    if cursor != written:
        save_position(cases.job, cursor.dump() if cursor is not None else "", clock.stamp(now))
    return cursor


def _status_order(statuses: tuple[str, ...], cursor: Cursor | None) -> tuple[str, ...]:
    """Every status once, starting with the one the last run stopped in."""
    if cursor is None:
        return statuses
    at = statuses.index(cursor.status)
    return statuses[at:] + statuses[:at]


# --- one page -------------------------------------------------------------------------------------


def _work_page(cases: SlaCases, page: list[Any], now: datetime, tally: Counter[str]) -> list[Taken]:
    """Claim each case's step, record it, and tell the users whose cases were escalated."""
    if not page:
        return []
    tally["checked"] += len(page)
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(page))) as pool:
        outcomes = list(pool.map(lambda case: _take_step_safely(cases, case, now), page))
    taken = [outcome for outcome in outcomes if isinstance(outcome, Taken)]
    tally["failed"] += sum(1 for outcome in outcomes if outcome == "failed")
    tally["skipped"] += sum(1 for outcome in outcomes if outcome is None)
    reminded = [step for step in taken if step.stage == "reminded"]
    escalated = [step for step in taken if step.stage == "escalated"]
    tally["reminded"] += len(reminded)
    tally["escalated"] += len(escalated)
    _record_steps(cases, taken, now)
    if escalated:
        _tell_users(cases, escalated)
    return taken


def _notify_staff(cases: SlaCases, batch: list[Taken]) -> None:
    """For a batch of steps: one digest per reminder recipient and one alert to the support lead."""
    reminded = [step for step in batch if step.stage == "reminded"]
    escalated = [step for step in batch if step.stage == "escalated"]
    if reminded:
        _remind_staff(cases, reminded)
    if escalated:
        _alert_lead(cases, escalated)


def _take_step_safely(cases: SlaCases, case: Any, now: datetime) -> Taken | str | None:
    try:
        return take_step(cases, case, now)
    except Exception:
        # Left in the range: a later run tries again (after the cursor has gone round).
        logger.exception("sla step not taken", extra={"job": cases.job, "case_id": cases.case_id(case)})
        return "failed"


def take_step(cases: SlaCases, case: Any, now: datetime) -> Taken | None:
    """Claim the case's next step; None when another run took it or the case no longer waits."""
    model = type(case)
    seen = case.sla_stage or "none"
    if not sla.has_next_step(seen):
        _drop_stale_due(cases, case)
        return None
    deadline = clock.from_stamp(cases.deadline(case))
    step = sla.next_step(seen, deadline, now)
    actions = [model.sla_stage.set(step.stage)]
    if step.next_due is None:
        actions += [model.sla_due.remove(), model.escalated.set(True), model.updated_at.set(clock.stamp(now))]
    else:
        # A staff reminder changes nothing the user sees, so `updated_at` stays.
        actions.append(model.sla_due.set(clock.stamp(step.next_due)))
    same_stage = model.sla_stage == seen
    if seen == "none":
        same_stage = same_stage | model.sla_stage.does_not_exist()
    try:
        case.update(actions=actions, condition=same_stage & (model.sla_due == case.sla_due) & cases.still_waiting())
    except UpdateError as error:
        if condition_failed(error):
            return None
        raise
    return Taken(case, step.stage, deadline)


def _drop_stale_due(cases: SlaCases, case: Any) -> None:
    """An escalated case should have no `sla_due`; take it out of the index without a notice."""
    model = type(case)
    try:
        case.update(actions=[model.sla_due.remove()], condition=model.sla_stage == case.sla_stage)
    except UpdateError as error:
        if not condition_failed(error):
            raise


def _record_steps(cases: SlaCases, taken: list[Taken], now: datetime) -> None:
    if not taken:
        return
    stamp = clock.stamp(now)
    try:
        with AuditEvent.batch_write() as batch:
            for step in taken:
                action = "escalated" if step.stage == "escalated" else "sla_reminded"
                detail = {"deadline": cases.deadline(step.case), "assignee": step.case.assignee}
                batch.save(audit_event(f"{cases.kind}#{cases.case_id(step.case)}", cases.actor, action, stamp, detail))
    except Exception:
        logger.exception("sla audit events not written", extra={"job": cases.job})


def _record_run(cases: SlaCases, result: dict[str, Any], now: datetime) -> None:
    stamp = clock.stamp(now)
    event = AuditEvent(
        cases.actor, f"{stamp}#run_{uuid.uuid4().hex}", actor=cases.actor, action="run", detail=result, at=stamp
    )
    try:
        event.save()
    except Exception:
        logger.exception("sla run record not written", extra={"job": cases.job})


# --- notices --------------------------------------------------------------------------------------


def _tell_users(cases: SlaCases, escalated: list[Taken]) -> None:
    """Each user once per escalated case (a verified email, else SMS), in their language."""
    users = _users({step.case.user_id for step in escalated})
    event = f"{cases.kind}_escalated"

    def tell(step: Taken) -> None:
        # A user the batch read did not return is looked up again by id (it may have failed).
        case_notices.tell_user(users.get(step.case.user_id, step.case.user_id), event, cases.case_id(step.case))

    with ThreadPoolExecutor(max_workers=min(WORKERS, len(escalated))) as pool:
        list(pool.map(tell, escalated))


def _alert_lead(cases: SlaCases, escalated: list[Taken]) -> None:
    """One alert per batch, however many cases it escalated."""
    lines = [
        f"{cases.case_id(step.case)}  due {case_notices.beijing_time(step.deadline)} Beijing time, "
        f"assignee {step.case.assignee or 'none'}"
        for step in sorted(escalated, key=lambda step: step.deadline)
    ]
    title = f"{cases.job}: {len(escalated)} {cases.kind}(s) escalated, no agent reply by the deadline"
    lead = get_settings().support_lead_email
    try:
        notify.alert_operators(title, "\n".join(lines))
    except Exception:
        logger.exception(
            "sla support lead not alerted",
            extra={"job": cases.job, "case_ids": [cases.case_id(step.case) for step in escalated]},
        )
    if lead:  # a configured address as well as the topic (and what the local stage's outbox shows)
        now = clock.now()
        notice_outbox.deliver(
            [notice_outbox.email(lead, "ops_alert", QUEUE_LOCALE, now, title=title, detail="\n".join(lines))], now
        )


def _remind_staff(cases: SlaCases, reminded: list[Taken]) -> None:
    """One digest per recipient: the assignee agent, or the support mailbox for unassigned cases."""
    agents = _users({step.case.assignee for step in reminded if step.case.assignee})
    by_recipient: dict[tuple[str, str], list[Taken]] = defaultdict(list)
    for step in reminded:
        by_recipient[_recipient(agents.get(step.case.assignee or ""))].append(step)
    for (address, locale), steps in by_recipient.items():
        lines = [_reminder_line(cases, step, locale) for step in sorted(steps, key=lambda step: step.deadline)]
        now = clock.now()
        digest = notice_outbox.email(
            address, "sla_reminder_email", locale, now, count=len(steps), cases="\n".join(lines)
        )
        notice_outbox.deliver([digest], now)  # recorded right after the steps' writes; retried if not sent


def _recipient(agent: User | None) -> tuple[str, str]:
    if agent is not None and agent.status == "active" and agent.email:
        return agent.email, agent.locale or QUEUE_LOCALE
    return get_settings().support_email, QUEUE_LOCALE


def _reminder_line(cases: SlaCases, step: Taken, locale: str) -> str:
    return pick(SLA_REMINDER_LINE, locale).format(
        kind=pick(CASE_KINDS[cases.kind], locale),
        case_id=cases.case_id(step.case),
        when=case_notices.beijing_time(step.deadline),
    )


def _users(user_ids: Iterable[str]) -> dict[str, User]:
    """The users found, by id; none when the read fails (the steps are taken: notices still go)."""
    wanted = sorted({user_id for user_id in user_ids if user_id})  # an unverified sender's email ticket has none
    if not wanted:
        return {}
    try:
        return {user.user_id: user for user in User.batch_get(wanted)}
    except Exception:
        logger.exception("sla users not read", extra={"count": len(wanted)})
        return {}
