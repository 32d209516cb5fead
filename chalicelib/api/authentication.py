"""The 401 and 403 steps of the check order: who is calling, and may their role do this."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.services.identity import sessions


def authenticate(op: Any, call: Any) -> None:
    principal = sessions.authenticate(call.headers.get("authorization"), clock.now())
    call.user = principal
    call.scope.stored_locale = principal.locale
    if op.auth == "agent" and principal.role != "agent":
        raise OkpayError("forbidden")
