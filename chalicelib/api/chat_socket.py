"""The live-chat WebSocket edge (contract, section 12): what API Gateway's WebSocket API calls.

app.py wires Chalice's `on_ws_connect` / `on_ws_message` / `on_ws_disconnect` here (deployed: three
Lambda functions behind the `$connect`, `$default` and `$disconnect` routes; locally,
localstage/ws_bridge.py sends the same events to the same handlers). Each parses the event, calls
chalicelib/services/support/chat_sockets.py, and answers API Gateway:

- `$connect`: `?ticket=` (from POST …/ws-ticket; never a token in a URL) → 200, or 401 with the
  `unauthorized` envelope, which refuses the upgrade;
- `$default`: one client frame; the answer (a pong, an error frame) is pushed, since the route has
  no route response;
- `$disconnect`: the connection's record is deleted.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.api.envelope import error_body
from chalicelib.errors import OkpayError
from chalicelib.services.support import chat_sockets

_OK = {"statusCode": 200}


def on_connect(event: Any) -> dict[str, Any]:
    raw = event.to_dict()
    ticket = (raw.get("queryStringParameters") or {}).get("ticket")
    request_id = _request_id(raw)
    try:
        accepted = chat_sockets.connect(event.connection_id, ticket, clock.now())
    except Exception:
        logger.exception("websocket connect failed", extra={"request_id": request_id})
        return _refusal(OkpayError("try_again", retry_after=1), request_id)
    if not accepted:
        logger.info("websocket refused", extra={"request_id": request_id, "event": "ws_refused"})
        return _refusal(OkpayError("unauthorized"), request_id)
    return _OK


def on_message(event: Any) -> dict[str, Any]:
    raw = event.to_dict()
    connection_id = event.connection_id
    try:
        chat_sockets.receive(connection_id, raw.get("body"), clock.now())
    except chat_sockets.FrameRefused as refused:
        chat_sockets.reply_error(connection_id, error_body(refused.error, refused.locale, _request_id(raw)))
    except Exception:
        logger.exception("websocket frame failed", extra={"connection_id": connection_id})
        chat_sockets.reply_error(connection_id, error_body(OkpayError("internal_error"), "en", _request_id(raw)))
    return _OK


def on_disconnect(event: Any) -> dict[str, Any]:
    try:
        chat_sockets.disconnect(event.connection_id)
    except Exception:  # the record expires with API Gateway's 2 h cap anyway
        logger.exception("websocket disconnect not recorded", extra={"connection_id": event.connection_id})
    return _OK


def _refusal(error: OkpayError, request_id: str) -> dict[str, Any]:
    body = error_body(error, "en", request_id)
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": request_id},
        "body": json.dumps(body, ensure_ascii=False),
    }


def _request_id(raw: dict[str, Any]) -> str:
    found = (raw.get("requestContext") or {}).get("requestId")
    return found if isinstance(found, str) and found else uuid.uuid4().hex
