"""Local-stage tools: the outbox, running jobs on demand, the test clock and inbound support mail
(contract, section 10).

app.py registers this Blueprint only in the `local` stage: anywhere else these routes do not exist
(not in the route table, the OpenAPI document or the packaged template), so API Gateway answers them
`404 not_found` like any unknown path. `local_only=True` tells the OpenAPI document the same.
"""

from __future__ import annotations

from chalicelib.adapters import clock, local_faults, outbox
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.errors import OkpayError
from chalicelib.jobs.registry import JOBS, run_job
from chalicelib.services.common.phones import normalize_phone
from chalicelib.services.support import inbound_email


@operation(
    "GET",
    "/_local/outbox",
    schemas="local",
    summary="Emails and SMS sent (local stage)",
    description=(
        "Every email and SMS the app sent, newest first; each is here before the response to the request that "
        "caused it. `?to=` keeps those sent to one email address (any case) or phone (E.164; without `+` read as "
        "+86). An SMS has no `subject`. Kept in memory: the latest messages only, gone on restart."
    ),
    tag="local",
    query="OutboxQuery",
    response="OutboxList",
    local_only=True,
)
def read_outbox(call: Call) -> dict:
    to = call.query.to
    if to is not None:
        to = to.strip()
        to = to.lower() if "@" in to else _phone_or_raw(to)
    return {"data": [message.as_dict() for message in outbox.messages(to)]}


@operation(
    "POST",
    "/_local/jobs/{job}",
    schemas="local",
    summary="Run a scheduled job now (local stage)",
    tag="local",
    body="JobRun",
    response="JobResult",
    local_only=True,
    description=(
        "Runs a scheduled job (`dispute_sla`, `ticket_sla`, `reconcile`, `password_age`, `topup_settle`, "
        "`chat_queue`, `order_expiry`, `webhook_dispatch`, `notify_dispatch`) at `now` "
        "(else the test clock, else real time) without moving the clock: `200 {job, result}` with what the job "
        "did. An unknown job is `404 not_found`."
    ),
    errors=("not_found",),
)
def run_local_job(call: Call) -> dict:
    job = call.params["job"]
    if job not in JOBS:
        raise OkpayError("not_found")
    moment = clock.parse_instant(call.body.now) if call.body.now else clock.now()
    return {"job": job, "result": run_job(job, moment)}


@operation(
    "GET",
    "/_local/clock",
    schemas="local",
    summary="The clock the app reads (local stage)",
    description="The time the app reads now, and whether it is a test clock (`PUT /_local/clock`) or real time.",
    tag="local",
    response="ClockState",
    local_only=True,
)
def read_clock(call: Call) -> dict:
    return _clock_state()


@operation(
    "PUT",
    "/_local/clock",
    schemas="local",
    summary="Set the test clock (local stage)",
    tag="local",
    body="ClockSet",
    response="ClockState",
    local_only=True,
    description=(
        "Sets a test clock: every rule that reads the time (deadlines, code and token expiry, limit windows, SLA "
        "dates) reads it, and it runs on from `now`. `200` the clock now. TOTP codes still follow real time."
    ),
)
def set_clock(call: Call) -> dict:
    clock.set_test_clock(clock.parse_instant(call.body.now))
    return _clock_state()


@operation(
    "DELETE",
    "/_local/clock",
    schemas="local",
    summary="Back to real time (local stage)",
    description="Removes the test clock: the app reads real time again. `200` the clock now.",
    tag="local",
    response="ClockState",
    local_only=True,
)
def clear_clock(call: Call) -> dict:
    clock.clear_test_clock()
    return _clock_state()


@operation(
    "POST",
    "/_local/inbound-email",
    schemas="local",
    summary="Receive a support email (local stage)",
    tag="local",
    body="InboundEmail",
    response="InboundEmailResult",
    local_only=True,
    description=(
        "Feeds a mail to the support address through the same code as the deployed inbound handler (section 13): "
        "`200 {result, ticket_id?}` — `ticket_created`, `message_added` (threaded onto a ticket), `quarantined` "
        "(spam, or DMARC `FAIL` with `dmarc_policy: reject`), `ignored` (a virus, an auto-reply or bounce, an "
        "unreadable mail, past 10 new tickets a day from the sender) or `duplicate` (a Message-ID seen before). "
        "Absent verdicts are `PASS`."
    ),
)
def receive_inbound_email(call: Call) -> dict:
    verdicts = call.body.verdicts.model_dump(exclude_none=True) if call.body.verdicts else {}
    return inbound_email.receive(call.body.raw.encode("utf-8"), verdicts, clock.now())


@operation(
    "PUT",
    "/_local/faults",
    schemas="local",
    summary="Inject faults (local stage)",
    tag="local",
    body="FaultsSet",
    response="FaultsInForce",
    local_only=True,
    description=(
        "Puts faults in force where the app meets the outside world, replacing any before (an absent one is "
        "none): each DynamoDB call fails at the `throttle` rate with the service's own throttling error, each "
        "write at the `conflict` rate with its transaction-conflict error; a `down` SES or SNS answers every "
        "call 503; the bank simulator refuses as unavailable (`down`) or takes the charge and hangs past the "
        "gateway timeout (`timeout`). The draws follow `seed` (absent: a random one, answered back), so a run "
        "can be replayed. `200` the faults now in force."
    ),
)
def set_faults(call: Call) -> dict:
    return _fault_controller().configure(call.body.model_dump(exclude_none=True))


@operation(
    "DELETE",
    "/_local/faults",
    schemas="local",
    summary="Clear every fault (local stage)",
    description="Removes every injected fault: `204`.",
    tag="local",
    status=204,
    local_only=True,
)
def clear_faults(call: Call) -> Reply:
    _fault_controller().clear()
    return Reply(None, 204)


def _fault_controller() -> local_faults.Controller:
    # Installed by the local stage's server and the tests (localstage/faults.py); never deployed.
    controller = local_faults.controller()
    if controller is None:
        raise OkpayError("not_found")
    return controller


def _clock_state() -> dict:
    return {"now": clock.isoformat(clock.now()), "test_clock": clock.test_clock_is_set()}


def _phone_or_raw(value: str) -> str:
    try:
        return normalize_phone(value, field="to")
    except OkpayError:
        return value
