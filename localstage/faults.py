"""Fault injection for the local stage and the tests (`PUT /_local/faults`, contract section 10).

Like Jepsen's nemesis: the real services' errors arrive where the app meets them, so botocore's own
parsing and retries and the app's own handling are what run. A `before-send` handler, registered
first on every botocore client (PynamoDB's and boto3's, under moto's in-process mock and against
`make run`'s moto server alike), answers some calls itself, with what the service would have sent:

- DynamoDB, at the `throttle` rate, any call: `ThrottlingException` or
  `ProvisionedThroughputExceededException` (HTTP 400, JSON); a TransactWriteItems is sometimes
  cancelled with a `ThrottlingError` reason instead.
- DynamoDB, at the `conflict` rate, writes: a TransactWriteItems is cancelled
  (`TransactionCanceledException` with one `TransactionConflict` reason), a single-item write gets
  `TransactionConflictException`.
- SES or SNS `down`: every call gets HTTP 503 `ServiceUnavailable` (query-protocol XML).
- The bank simulator (chalicelib/adapters/bank_gateway.py) asks `bank()`: `down` refuses as
  unavailable, `timeout` takes the charge and hangs past the gateway's timeout.

Draws come from one `random.Random(seed)` under one lock: the same seed and the same calls give the
same faults, so a failing run can be replayed (`history()` lists what was injected). Never shipped:
only the tests and localstage/server.py call `install()`.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections import Counter, deque
from io import BytesIO
from typing import Any

from botocore import handlers
from botocore.awsrequest import AWSResponse

from chalicelib.adapters import local_faults

_JSON_ERROR = "com.amazonaws.dynamodb.v20120810#"
_FAULTED = "okpay_fault_injected"
_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"})
_HISTORY_KEPT = 10_000


class Faults:
    """The faults in force and the seeded draws; every method is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spec: dict[str, Any] = {}
        self._random = random.Random()  # noqa: S311 (fault draws, replayable by seed; not security)
        self._history: deque[tuple[str, str, str]] = deque(maxlen=_HISTORY_KEPT)

    def configure(self, faults: dict[str, Any]) -> dict[str, Any]:
        dynamodb = {name: rate for name, rate in (faults.get("dynamodb") or {}).items() if rate}
        seed = faults.get("seed")
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)  # reported back, so the run can be replayed
        spec = {
            "dynamodb": {"throttle": dynamodb.get("throttle", 0.0), "conflict": dynamodb.get("conflict", 0.0)},
            "ses": faults.get("ses") or "ok",
            "sns": faults.get("sns") or "ok",
            "bank": faults.get("bank") or "ok",
            "seed": seed,
        }
        with self._lock:
            self._spec = spec
            self._random = random.Random(seed)  # noqa: S311 (fault draws, replayable by seed)
            self._history.clear()
        return self.in_force()

    def clear(self) -> None:
        with self._lock:
            self._spec = {}
            self._history.clear()

    def in_force(self) -> dict[str, Any]:
        with self._lock:
            spec = self._spec
        if not spec:
            return {"dynamodb": {"throttle": 0.0, "conflict": 0.0}, "ses": "ok", "sns": "ok", "bank": "ok"}
        return {**spec, "dynamodb": dict(spec["dynamodb"])}

    def bank(self) -> str | None:
        with self._lock:
            state = self._spec.get("bank", "ok")
            if state == "ok":
                return None
            self._history.append(("bank", "call", state))
            return state

    def history(self) -> list[tuple[str, str, str]]:
        """(service, operation, fault) of the calls answered with a fault (the latest 10,000), oldest first."""
        with self._lock:
            return list(self._history)

    def counts(self) -> Counter[str]:
        return Counter(fault for _, _, fault in self.history())

    def before_send(self, request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        """botocore's `before-send.<service>.<operation>`: a faulty answer, or None to send the call."""
        if not self._spec:  # no fault in force: nothing to draw (read without the lock: a dict swap)
            return None
        _, service, operation = [*event_name.split("."), "", ""][:3]
        answer = None
        if service == "dynamodb":
            answer = self._dynamodb(request, operation)
        elif service in ("ses", "sns"):
            answer = self._down(request, service, operation)
        if answer is not None:
            # botocore still calls the later before-send handlers: moto's must not carry the call out.
            setattr(request, _FAULTED, True)
        return answer

    def _dynamodb(self, request: Any, operation: str) -> AWSResponse | None:
        with self._lock:
            rates = self._spec.get("dynamodb") if self._spec else None
            if not rates or not (rates["throttle"] or rates["conflict"]):
                return None
            draw = self._random.random()
            variant = self._random.random()
            if draw < rates["throttle"]:
                fault = "throttle"
            elif operation in _WRITES and draw < rates["throttle"] + rates["conflict"]:
                fault = "conflict"
            else:
                return None
            self._history.append(("dynamodb", operation, fault))
        if operation == "TransactWriteItems":
            count = _transaction_size(request)
            if fault == "conflict":
                return _cancelled(request, count, "TransactionConflict", int(variant * count))
            if variant < 0.25:  # DynamoDB may also cancel a throttled transaction
                return _cancelled(request, count, "ThrottlingError", int(variant * 4 * count))
        if fault == "conflict":
            return _json_error(request, "TransactionConflictException", "Transaction is ongoing for the item")
        if variant < 0.5:
            return _json_error(request, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")
        return _json_error(
            request,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        )

    def _down(self, request: Any, service: str, operation: str) -> AWSResponse | None:
        with self._lock:
            if self._spec.get(service, "ok") != "down":
                return None
            self._history.append((service, operation, "down"))
        body = (
            "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"
            "<Message>Service is unavailable. Please try again later.</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        )
        return _response(request, 503, "text/xml", body)


class _Raw(BytesIO):
    """What AWSResponse reads a body from (urllib3's `stream()`)."""

    def stream(self, **_: Any) -> Any:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def _response(request: Any, status: int, content_type: str, body: str) -> AWSResponse:
    headers = {"Content-Type": content_type, "x-amzn-RequestId": str(uuid.uuid4())}
    return AWSResponse(request.url, status, headers, _Raw(body.encode("utf-8")))


def _json_error(request: Any, code: str, message: str, **fields: Any) -> AWSResponse:
    body = json.dumps({"__type": _JSON_ERROR + code, "message": message, **fields})
    return _response(request, 400, "application/x-amz-json-1.0", body)


def _cancelled(request: Any, count: int, reason: str, at: int) -> AWSResponse:
    """TransactionCanceledException: one reason per item, `reason` on item `at`, "None" elsewhere."""
    reasons = [{"Code": "None"} for _ in range(count)]
    if count:
        reasons[min(at, count - 1)] = {"Code": reason, "Message": f"{reason} on the item"}
    codes = ", ".join(item["Code"] for item in reasons)
    message = f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]"
    return _json_error(request, "TransactionCanceledException", message, CancellationReasons=reasons)


def _transaction_size(request: Any) -> int:
    try:
        return len(json.loads(request.body)["TransactItems"])
    except (TypeError, ValueError, KeyError):
        return 1


FAULTS = Faults()
_installed = False


def install() -> Faults:
    """Put the handler first on every botocore client made from now on, and plug the controller into
    the app (chalicelib/adapters/local_faults.py). Call it before any client is made."""
    global _installed
    if not _installed:
        handlers.BUILTIN_HANDLERS.append(("before-send", FAULTS.before_send, handlers.REGISTER_FIRST))
        _keep_moto_off_faulted_calls()
        _installed = True
    local_faults.install(FAULTS)
    return FAULTS


def _keep_moto_off_faulted_calls() -> None:
    """botocore emits `before-send` to every handler and takes the first answer, so moto's in-process
    mock (the tests) would still carry out a call answered with a fault, a throttled write written
    after all. Its handler skips the calls this module answered. (Against `make run`'s moto server
    the faulty answer means the call is never sent.)"""
    from moto.core.botocore_stubber import BotocoreStubber

    carry_out = BotocoreStubber.__call__

    def unless_faulted(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if getattr(request, _FAULTED, False):
            return None
        return carry_out(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = unless_faulted
