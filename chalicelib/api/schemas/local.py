"""Request and response models of the local routes (chalicelib/api/local.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, RootModel, field_validator

from chalicelib.api.schemas.common import (
    Instant,
    Query,
    RequestBody,
    ResponseBody,
    Timestamp,
    check_instant,
    examples,
    omittable,
)


class OutboxQuery(Query):
    to: str | None = Field(default=None, description="An email address or phone number (URL-encoded).")


_SMS = {
    "channel": "sms",
    "to": "+8613800138000",
    "body": "【Okpay】验证码 482913，10 分钟内有效，用于注册账户。请勿告诉任何人。",
    "sent_at": "2026-11-24T09:30:00+08:00",
}
_EMAIL = {
    "channel": "email",
    "to": "zhang.san@example.com",
    "subject": "Okpay 验证码",
    "body": (
        "您好，\n\n您的验证码是 572048，30 分钟内有效，用于验证邮箱。\n如非本人操作，请忽略本邮件并联系客服。\n\nOkpay"
    ),
    "sent_at": "2026-11-24T09:31:12+08:00",
}


class OutboxItem(ResponseBody):
    model_config = examples(_EMAIL, _SMS)

    channel: Literal["email", "sms"]
    to: str = Field(description="The email address (lower case) or the phone (E.164).")
    subject: str = omittable(description="Emails only: an SMS has none.")
    body: str
    sent_at: Timestamp
    reply_to: str = omittable(description="Emails about an email ticket: its signed reply address (`Reply-To`).")


class OutboxList(ResponseBody):
    model_config = examples({"data": [_EMAIL, _SMS]})

    data: list[OutboxItem] = Field(description="Newest first; the outbox keeps the latest messages only.")


class JobRun(RequestBody):
    """`now`: run the job at this moment; else the test clock, else real time."""

    model_config = examples({"now": "2026-11-27T18:00:00+08:00"}, {})

    now: Instant | None = None

    _instant = field_validator("now")(check_instant)


# --- what each job reports (chalicelib/jobs/*: `run(now)`), told apart by `job` ----------------------

_RAN_AT = "2026-11-27T18:00:00+08:00"
_RUN_ID = "run_4c8e2a6f0b1d4e3a9c5f7b2d8e0a6c41"
_SLA = {
    "ran_at": _RAN_AT,
    "checked": 3,
    "reminded": 2,
    "escalated": 1,
    "skipped": 0,
    "failed": 0,
    "pages": 1,
    "finished": True,
}
_RECONCILED = {
    "ran_at": _RAN_AT,
    "run_id": _RUN_ID,
    "state": "done",
    "cutoff": "2026-11-27T17:55:00+08:00",
    "position": "2026-11-27T17:55:00+08:00",
    "batches": 4,
    "entries_checked": 1288,
    "mismatch_count": 0,
    "ok": True,
}
_PASSWORD_AGE = {"ran_at": _RAN_AT, "days": ["2026-11-27"], "checked": 42, "reminded": 3}
_TOPUP_SETTLE = {"ran_at": _RAN_AT, "checked": 2, "credited": 1, "declined": 1, "failed": 0, "unknown": 0, "skipped": 0}


class SlaOutcome(ResponseBody):
    """`dispute_sla` and `ticket_sla`: the cases past 80 % of their deadline or past it."""

    model_config = examples(_SLA)

    ran_at: Timestamp
    checked: int = Field(description="Cases read.")
    reminded: int = Field(description="Reminders sent at 80 % of the time to the deadline.")
    escalated: int = Field(description="Cases escalated past their deadline with no agent reply.")
    skipped: int = Field(description="Cases with nothing to do (already reminded or escalated, replied).")
    failed: int = Field(description="Cases that could not be handled this time; the next run retries them.")
    pages: int
    finished: bool = Field(description="False when the run stopped at its time budget; the next run goes on.")


class ReconcileBusy(ResponseBody):
    model_config = examples({"ran_at": _RAN_AT, "state": "busy", "detail": "another invocation holds the run"})

    ran_at: Timestamp
    state: Literal["busy"] = Field(description="Another invocation holds the run: nothing was done.")
    detail: str


class ReconcileTakenOver(ResponseBody):
    model_config = examples({"ran_at": _RAN_AT, "run_id": _RUN_ID, "state": "taken_over"})

    ran_at: Timestamp
    run_id: str
    state: Literal["taken_over"] = Field(description="Another invocation took the run over; this one stopped.")


class ReconcileProgress(ResponseBody):
    """A run's progress: entries posted before `cutoff` (run start − 5 minutes) are checked, up to `position`
    so far."""

    model_config = examples(_RECONCILED)

    ran_at: Timestamp
    run_id: str
    state: Literal["running", "done"] = Field(description="`running`: the next run goes on from `position`.")
    cutoff: Timestamp
    position: Timestamp
    batches: int
    entries_checked: int
    mismatch_count: int
    ok: bool = Field(description="Done, and every account and currency balanced.")


class PasswordAgeOutcome(ResponseBody):
    model_config = examples(_PASSWORD_AGE)

    ran_at: Timestamp
    days: list[str] = Field(description="The Shanghai calendar days handled (YYYY-MM-DD), missed ones caught up.")
    checked: int = Field(description="Users whose password review fell on those days.")
    reminded: int = Field(description="Reminders sent.")


class TopupSettleOutcome(ResponseBody):
    model_config = examples(_TOPUP_SETTLE)

    ran_at: Timestamp
    checked: int = Field(description="Top-ups whose bank answer was still unknown and due for a check.")
    credited: int
    declined: int
    failed: int
    unknown: int = Field(description="Still unknown at the bank: checked again later.")
    skipped: int


_CHAT_QUEUE = {"ran_at": _RAN_AT, "tickets_created": 1, "resolved_idle": 2, "nobody_online": False}


class ChatQueueOutcome(ResponseBody):
    """`chat_queue`: chats waiting too long turned into tickets, silent active chats resolved."""

    model_config = examples(_CHAT_QUEUE)

    ran_at: Timestamp
    tickets_created: int = Field(
        description="Chats waiting 10 minutes (2 while no agent was online) turned into tickets."
    )
    resolved_idle: int = Field(description="Active chats resolved after the user was silent 30 minutes.")
    nobody_online: bool = Field(description="No agent was online: the 2-minute limit applied.")


class ChatQueueJobResult(ResponseBody):
    model_config = examples({"job": "chat_queue", "result": _CHAT_QUEUE})

    job: Literal["chat_queue"]
    result: ChatQueueOutcome


class SlaJobResult(ResponseBody):
    model_config = examples({"job": "dispute_sla", "result": _SLA})

    job: Literal["dispute_sla", "ticket_sla"]
    result: SlaOutcome


class ReconcileJobResult(ResponseBody):
    model_config = examples({"job": "reconcile", "result": _RECONCILED})

    job: Literal["reconcile"]
    result: Annotated[ReconcileProgress | ReconcileBusy | ReconcileTakenOver, Field(discriminator="state")]


class PasswordAgeJobResult(ResponseBody):
    model_config = examples({"job": "password_age", "result": _PASSWORD_AGE})

    job: Literal["password_age"]
    result: PasswordAgeOutcome


class TopupSettleJobResult(ResponseBody):
    model_config = examples({"job": "topup_settle", "result": _TOPUP_SETTLE})

    job: Literal["topup_settle"]
    result: TopupSettleOutcome


_ORDER_EXPIRY = {"ran_at": _RAN_AT, "expired": 3, "skipped": 0}


class OrderExpiryOutcome(ResponseBody):
    """`order_expiry`: open checkout orders past `expires_at` marked `expired`, each with its event."""

    model_config = examples(_ORDER_EXPIRY)

    ran_at: Timestamp
    expired: int = Field(description="Orders this run moved to `expired`.")
    skipped: int = Field(description="Orders found due but paid, closed or expired meanwhile (by another run).")


class OrderExpiryJobResult(ResponseBody):
    model_config = examples({"job": "order_expiry", "result": _ORDER_EXPIRY})

    job: Literal["order_expiry"]
    result: OrderExpiryOutcome


_WEBHOOK_DISPATCH = {"ran_at": _RAN_AT, "delivered": 4, "retrying": 1, "failed": 0, "skipped": 0}


class WebhookDispatchOutcome(ResponseBody):
    """`webhook_dispatch`: webhook events whose next attempt was due, each attempted once."""

    model_config = examples(_WEBHOOK_DISPATCH)

    ran_at: Timestamp
    delivered: int = Field(description="Events delivered by this run (a 2xx within 10 s).")
    retrying: int = Field(description="Attempts that failed, each with its next retry scheduled.")
    failed: int = Field(description="Events whose last retry failed: now `failed`.")
    skipped: int = Field(description="Events found due but attempted, delivered or claimed meanwhile.")


class WebhookDispatchJobResult(ResponseBody):
    model_config = examples({"job": "webhook_dispatch", "result": _WEBHOOK_DISPATCH})

    job: Literal["webhook_dispatch"]
    result: WebhookDispatchOutcome


_NOTIFY_DISPATCH = {"ran_at": _RAN_AT, "sent": 12, "retrying": 1, "failed": 0, "skipped": 0}


class NotifyDispatchOutcome(ResponseBody):
    """`notify_dispatch`: notices (emails and SMS, never codes) whose next attempt was due, each attempted once."""

    model_config = examples(_NOTIFY_DISPATCH)

    ran_at: Timestamp
    sent: int = Field(description="Notices SES or SNS took in this run.")
    retrying: int = Field(description="Sends that failed, each with its next attempt scheduled.")
    failed: int = Field(description="Notices whose attempt at their 24 h mark failed: now `failed`, alerted.")
    skipped: int = Field(
        description="Notices found due but sent or claimed meanwhile, or whose attempt DynamoDB refused to record."
    )


class NotifyDispatchJobResult(ResponseBody):
    model_config = examples({"job": "notify_dispatch", "result": _NOTIFY_DISPATCH})

    job: Literal["notify_dispatch"]
    result: NotifyDispatchOutcome


class JobResult(
    RootModel[
        Annotated[
            SlaJobResult
            | ReconcileJobResult
            | PasswordAgeJobResult
            | TopupSettleJobResult
            | ChatQueueJobResult
            | OrderExpiryJobResult
            | WebhookDispatchJobResult
            | NotifyDispatchJobResult,
            Field(discriminator="job"),
        ]
    ]
):
    """The job that ran and what it did; the shape of `result` depends on `job`."""

    model_config = ConfigDict(
        defer_build=True,
        **examples(
            {"job": "password_age", "result": _PASSWORD_AGE},
            {"job": "dispute_sla", "result": _SLA},
        ),
    )


class ClockSet(RequestBody):
    """`now`: where the test clock starts; it runs on from there."""

    model_config = examples({"now": "2026-11-24T09:30:00+08:00"})

    now: Instant

    _instant = field_validator("now")(check_instant)


class ClockState(ResponseBody):
    """`now`: what the app reads as the time now (+08:00); `test_clock`: whether a test clock is set."""

    model_config = examples(
        {"now": "2026-11-24T09:30:00+08:00", "test_clock": True},
        {"now": "2026-12-06T18:07:31+08:00", "test_clock": False},
    )

    now: Timestamp
    test_clock: bool = Field(description="True while a test clock is set.")


# --- inbound support mail (section 13) ---------------------------------------------------------------

Verdict = Literal["PASS", "FAIL", "GRAY"]
_RAW_MAIL = (
    "From: Zhang San <zhang.san@example.com>\r\nTo: support@okpay.local\r\n"
    "Subject: =?UTF-8?B?6L2s6LSm5rKh5pyJ5Yiw6LSm?=\r\n"
    "Message-ID: <CAF1x2y3z@mail.example.com>\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
    "我昨天的转账对方还没有收到，请帮忙查一下。\r\n"
)


class MailVerdicts(RequestBody):
    """SES's receipt verdicts; an absent one is `PASS` (`dmarc_policy`: `none`)."""

    spam: Verdict | None = None
    virus: Verdict | None = None
    spf: Verdict | None = None
    dkim: Verdict | None = None
    dmarc: Verdict | None = None
    dmarc_policy: Literal["none", "quarantine", "reject"] | None = Field(
        default=None, description="The sender domain's DMARC policy: DMARC `FAIL` with `reject` is quarantined."
    )


class InboundEmail(RequestBody):
    model_config = examples(
        {"raw": _RAW_MAIL},
        {"raw": _RAW_MAIL, "verdicts": {"spam": "FAIL"}},
    )

    raw: Annotated[str, Field(min_length=1, max_length=15_000_000)] = Field(
        description="The whole RFC 5322 message, headers and body (sent as UTF-8 bytes)."
    )
    verdicts: MailVerdicts | None = None


class InboundEmailResult(ResponseBody):
    model_config = examples(
        {"result": "ticket_created", "ticket_id": "tkt_8e0a2c4e6b1d3f5a7c9e0b2d4f6a8c1e"},
        {"result": "duplicate", "ticket_id": "tkt_8e0a2c4e6b1d3f5a7c9e0b2d4f6a8c1e"},
        {"result": "ignored"},
    )

    result: Literal["ticket_created", "message_added", "quarantined", "ignored", "duplicate"]
    ticket_id: str = omittable(description="The ticket the mail opened or was added to (quarantined: held in).")


# --- fault injection (section 10) ------------------------------------------------------------------

Rate = Annotated[float, Field(ge=0, le=1, description="The share of calls that fail, 0–1.")]
ServiceState = Literal["ok", "down"]


class DynamoDbFaults(RequestBody):
    throttle: Rate | None = Field(
        default=None, description="Any call: `ThrottlingException` / `ProvisionedThroughputExceededException`."
    )
    conflict: Rate | None = Field(
        default=None,
        description="Writes: a transaction cancelled with `TransactionConflict`, a single write "
        "`TransactionConflictException`.",
    )


class FaultsSet(RequestBody):
    """The faults to put in force; a PUT replaces them all, and an absent one is none."""

    model_config = examples(
        {"dynamodb": {"throttle": 0.3, "conflict": 0.1}, "ses": "down", "bank": "timeout", "seed": 42}, {}
    )

    dynamodb: DynamoDbFaults | None = None
    ses: ServiceState | None = Field(default=None, description="`down`: every SES call answers 503.")
    sns: ServiceState | None = Field(default=None, description="`down`: every SNS call answers 503.")
    bank: Literal["ok", "down", "timeout"] | None = Field(
        default=None,
        description="`down`: the bank simulator refuses as unavailable; `timeout`: it takes the charge and "
        "hangs past the gateway timeout.",
    )
    seed: int | None = Field(default=None, description="Seeds the draws; absent: a random one, answered back.")


class DynamoDbFaultsInForce(ResponseBody):
    throttle: float
    conflict: float


class FaultsInForce(ResponseBody):
    """The faults in force; `seed` replays the same draws (absent when none was ever set)."""

    model_config = examples(
        {
            "dynamodb": {"throttle": 0.3, "conflict": 0.1},
            "ses": "down",
            "sns": "ok",
            "bank": "timeout",
            "seed": 42,
        }
    )

    dynamodb: DynamoDbFaultsInForce
    ses: ServiceState
    sns: ServiceState
    bank: Literal["ok", "down", "timeout"]
    seed: int = omittable(description="The seed of the draws.")
