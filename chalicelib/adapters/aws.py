"""boto3 clients for the services PynamoDB does not cover, one per service per process.

Built on first use (never at import) and reused: a client costs ~100 ms to create. botocore
clients are thread-safe. `AWS_ENDPOINT_URL` (set by the local stage) points them at moto.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.config import Config  # already loaded: PynamoDB's client is botocore's

from chalicelib.adapters.config import get_settings

# Every AWS service the app calls (PynamoDB makes the DynamoDB client itself). The Lambda zip carries
# botocore's models of these only (tools/package.py), so a client for any other fails here, in the tests.
# apigatewaymanagementapi: live-chat pushes, whose client chalicelib/adapters/pusher.py makes itself
# (its endpoint is the stage's WebSocket API).
SERVICES = frozenset({"apigatewaymanagementapi", "dynamodb", "kms", "s3", "secretsmanager", "ses", "sns"})

# At most ~5 s in all: two tries, each 1 s to connect and 1.5 s to read.
BRIEF = {"connect_timeout": 1, "read_timeout": 1.5, "retries": {"total_max_attempts": 2, "mode": "standard"}}

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

                config = Config(**BRIEF) if brief else None
                found = boto3.session.Session().client(service, region_name=region, config=config)
                _clients[key] = found
    return found
