"""boto3 clients for the services PynamoDB does not cover, one per service per process.

Built on first use (never at import) and reused: a client costs ~100 ms to create. botocore
clients are thread-safe. `AWS_ENDPOINT_URL` (set by the local stage) points them at moto.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.config import Config  # already loaded: PynamoDB's client is botocore's
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from chalicelib.adapters.config import get_settings

# Every AWS service the app calls (PynamoDB makes the DynamoDB client itself). The Lambda zip carries
# botocore's models of these only (tools/package.py), so a client for any other fails here, in the tests.
# apigatewaymanagementapi: live-chat pushes, whose client chalicelib/adapters/pusher.py makes itself
# (its endpoint is the stage's WebSocket API).
SERVICES = frozenset({"apigatewaymanagementapi", "dynamodb", "kms", "s3", "secretsmanager", "ses", "sns"})

# At most ~5 s in all: two tries, each 1 s to connect and 1.5 s to read.
BRIEF = {"connect_timeout": 1, "read_timeout": 1.5, "retries": {"total_max_attempts": 2, "mode": "standard"}}

# botocore's standard retry mode: throttling and 5xx answers are retried with jittered exponential
# backoff, a bounded number of times, under a per-client retry quota (no retry storm in an outage).
RETRIES = {"mode": "standard", "total_max_attempts": 3}

# Error codes that mean "busy or briefly unavailable, nothing was done": the caller answers
# `503 try_again` (contract, section 1, Faults). DynamoDB, then SES/SNS (query protocol), then any.
BUSY_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionInProgressException",
        "InternalServerError",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# Per-item reasons of a cancelled TransactWriteItems that mean the same (None: the item was fine).
BUSY_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})

_lock = threading.Lock()
_clients: dict[tuple[str, str, bool], Any] = {}


def client(service: str, *, brief: bool = False) -> Any:
    """`brief`: a client for a call made on a request's path that may fail rather than hold the
    request up (seconds, not botocore's 60 s timeouts and retries)."""
    region = get_settings().region
    key = (service, region, brief)
    found = _clients.get(key)
    if found is None:
        with _lock:
            found = _clients.get(key)
            if found is None:
                if service not in SERVICES:
                    raise ValueError(f"{service!r} is not in chalicelib.adapters.aws.SERVICES (docs/deploy.md)")
                import boto3  # deferred: heavy (boto3 ~15 ms; only SES/SNS/S3/KMS calls)

                config = Config(**BRIEF) if brief else Config(retries=RETRIES)
                found = boto3.session.Session().client(service, region_name=region, config=config)
                _clients[key] = found
    return found


def is_busy(error: BaseException) -> bool:
    """Whether an AWS call failed only because the service was busy or out of reach, so the same
    request may simply be tried again: a throttling or 5xx code, a transaction cancelled only for
    conflicts or throttling, or no connection. PynamoDB's errors are judged by their cause."""
    cause = getattr(error, "cause", None) or error
    if isinstance(cause, (ConnectionError, HTTPClientError)):
        return True
    if not isinstance(cause, ClientError):
        return False
    code = cause.response.get("Error", {}).get("Code", "")
    if code in BUSY_CODES or cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return True
    if code != "TransactionCanceledException":
        return False
    # PynamoDB keeps the reasons on its error (None for an item that was fine); botocore in the response.
    found = getattr(cause, "cancellation_reasons", None)
    if found is not None:
        reasons = {reason.code for reason in found if reason is not None}
    else:
        reasons = {reason.get("Code") for reason in cause.response.get("CancellationReasons", [])}
    reasons -= {"None", None}
    return bool(reasons) and reasons <= BUSY_REASONS
