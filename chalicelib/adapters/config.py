"""Settings read from the environment that `.chalice/config.json` gives each stage.

Read per call, never at import: `chalice.test.Client` only sets a stage's variables while a request
runs, and importing the app must work with nothing but a region set. The parsed result is cached
per distinct environment, so a request pays for a dictionary lookup, not for parsing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

# Every variable the code reads; a stage sets them in .chalice/config.json.
_VARIABLES = (
    "OKPAY_STAGE",
    "OKPAY_TABLE_PREFIX",
    "OKPAY_KYC_BUCKET",
    "OKPAY_MAIL_BUCKET",
    "OKPAY_ALERT_TOPIC_ARN",
    "OKPAY_SES_SENDER",
    "OKPAY_SMS_COUNTRY_CODES",
    "OKPAY_SUPPORT_PHONE",
    "OKPAY_SUPPORT_EMAIL",
    "OKPAY_SUPPORT_LEAD_EMAIL",
    "OKPAY_HELP_CENTER_URL",
    "OKPAY_PER_IP_LIMITS",
    "OKPAY_JWT_SECRET_ARN",
    "OKPAY_FIELD_KEY_ID",
    "OKPAY_WS_ENDPOINT",
    "OKPAY_WS_URL",
    "OKPAY_WEBHOOK_RELAY_TOPIC",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)

STAGES = ("local", "dev", "prod")


@dataclass(frozen=True)
class Settings:
    stage: str
    table_prefix: str
    kyc_bucket: str
    # Inbound support mail (contract, section 13): SES stores each raw message here; attachments too.
    mail_bucket: str
    alert_topic_arn: str
    ses_sender: str
    sms_country_codes: tuple[str, ...]
    support_phone: str
    support_email: str
    support_lead_email: str  # escalations also go here, besides the alert topic ("" = topic only)
    help_center_url: str
    per_ip_limits: bool
    region: str
    jwt_secret_arn: str  # Secrets Manager secret holding the master key (deployed stages)
    field_key_id: str  # KMS key for field encryption (deployed stages)
    # The live-chat WebSocket API (deployed stages: from the template): where pushes are posted
    # (https://<api>.execute-api.<region>.amazonaws.com/<stage>) and the wss:// URL clients connect to.
    # The local stage's server sets the URL (ws://127.0.0.1:<PORT+1>) and pushes through its bridge.
    ws_endpoint: str
    ws_url: str
    # Deployed stages: the SNS topic that takes a new webhook event's first attempt off the request
    # (chalicelib/adapters/webhook_relay.py); "" = the attempt runs in the caller (tests, local jobs).
    webhook_relay_topic: str

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    def table_name(self, table: str) -> str:
        return f"{self.table_prefix}{table}"


def get_settings() -> Settings:
    return _parse(tuple(os.environ.get(name) for name in _VARIABLES))


@lru_cache(maxsize=8)
def _parse(values: tuple[str | None, ...]) -> Settings:
    env = dict(zip(_VARIABLES, values, strict=False))
    # An unknown or missing stage is treated as deployed: local-only routes stay closed.
    stage = env["OKPAY_STAGE"] if env["OKPAY_STAGE"] in STAGES else "prod"
    region = env["AWS_REGION"] or env["AWS_DEFAULT_REGION"] or "ap-southeast-1"
    codes = env["OKPAY_SMS_COUNTRY_CODES"] or "86,852,853,886"
    per_ip = env["OKPAY_PER_IP_LIMITS"]
    alert_topic_arn = env["OKPAY_ALERT_TOPIC_ARN"] or ""
    if stage == "local":
        alert_topic_arn = _in_region(alert_topic_arn, region)
    return Settings(
        stage=stage,
        table_prefix=env["OKPAY_TABLE_PREFIX"] or f"okpay-{stage}-",
        kyc_bucket=env["OKPAY_KYC_BUCKET"] or f"okpay-{stage}-kyc-documents",
        mail_bucket=env["OKPAY_MAIL_BUCKET"] or f"okpay-{stage}-support-mail",
        alert_topic_arn=alert_topic_arn,
        ses_sender=env["OKPAY_SES_SENDER"] or "no-reply@okpay.local",
        sms_country_codes=tuple(c.strip().lstrip("+") for c in codes.split(",") if c.strip()),
        support_phone=env["OKPAY_SUPPORT_PHONE"] or "+86 400 820 6729",
        support_email=env["OKPAY_SUPPORT_EMAIL"] or "support@okpay.local",
        support_lead_email=env["OKPAY_SUPPORT_LEAD_EMAIL"] or "",
        help_center_url=env["OKPAY_HELP_CENTER_URL"] or "https://help.okpay.local",
        per_ip_limits=(per_ip or ("off" if stage == "local" else "on")) == "on",
        region=region,
        jwt_secret_arn=env["OKPAY_JWT_SECRET_ARN"] or "",
        field_key_id=env["OKPAY_FIELD_KEY_ID"] or "",
        ws_endpoint=env["OKPAY_WS_ENDPOINT"] or "",
        ws_url=env["OKPAY_WS_URL"] or ("ws://127.0.0.1:8001" if stage == "local" else ""),
        webhook_relay_topic=env["OKPAY_WEBHOOK_RELAY_TOPIC"] or "",
    )


def _in_region(arn: str, region: str) -> str:
    """The local stage runs on moto in whatever region the shell has (`make run` with
    AWS_DEFAULT_REGION=us-east-1 too), and its topic is made there: the configured ARN's region
    follows. Deployed stages get the ARN from their stack, already in the right region."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        return arn
    parts[3] = region
    return ":".join(parts)
