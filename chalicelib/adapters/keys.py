"""Server-side key material: one master secret, and purpose-bound keys derived from it.

Deployed stages read the master secret from Secrets Manager (OKPAY_JWT_SECRET_ARN, created by
infra/) once per process and keep it for five minutes, so a rotation reaches every instance
quickly. The local stage generates one per process: its data lives in moto's memory and dies with
the process anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from chalicelib.adapters import aws
from chalicelib.adapters.config import get_settings

_CACHE_SECONDS = 300
_lock = threading.Lock()
_local_master = secrets.token_bytes(32)
_cached: tuple[str, bytes, float] | None = None  # (secret arn, value, read at)


def master_key() -> bytes:
    global _cached
    settings = get_settings()
    if settings.is_local or not settings.jwt_secret_arn:
        if not settings.is_local:
            raise RuntimeError("OKPAY_JWT_SECRET_ARN is not configured")
        return _local_master
    cached = _cached
    if cached and cached[0] == settings.jwt_secret_arn and time.monotonic() - cached[2] < _CACHE_SECONDS:
        return cached[1]
    with _lock:
        value = aws.client("secretsmanager").get_secret_value(SecretId=settings.jwt_secret_arn)["SecretString"]
        _cached = (settings.jwt_secret_arn, value.encode("utf-8"), time.monotonic())
        return _cached[1]


def derived_key(purpose: str) -> bytes:
    """A 32-byte key for one purpose ("jwt", "codes", "fields", …), independent of the others."""
    return hmac.new(master_key(), f"okpay/{purpose}".encode(), hashlib.sha256).digest()


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value`: how one-time codes, recovery codes and ID numbers are stored.

    Keyed, so a leaked table cannot be brute-forced offline (a 6-digit code has only 10^6 values).
    """
    return hmac.new(derived_key(purpose), value.encode("utf-8"), hashlib.sha256).hexdigest()
