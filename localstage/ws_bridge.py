"""The live-chat WebSocket of the local stage: `make run` serves it on ws://127.0.0.1:$((PORT+1)).

It plays API Gateway's WebSocket API in front of the app's own handlers (app.py's
`on_ws_connect` / `on_ws_message` / `on_ws_disconnect`, found through `app.websocket_handlers`): each
upgrade, text frame and close becomes the event API Gateway would send (`requestContext` with
`routeKey` `$connect` / `$default` / `$disconnect`, `eventType`, `connectionId`, `domainName`,
`stage`, `apiId`, `requestTimeEpoch` …, `queryStringParameters` on connect, `body` on a message),
and the handler's answer is honoured the way API Gateway does: a `$connect` answer other than 2xx
refuses the upgrade with that status and body (401 for a bad ticket).

Handlers run in worker threads, so the event loop never waits on DynamoDB; one connection's frames
are handled one after another, in order. Pushes come back through the app's pusher interface
(chalicelib/adapters/pusher.py): this bridge is its backend here (`install`), and writes to the
sockets it holds from any thread through the loop (`call_soon_threadsafe`), one writer per socket so
frames keep their order.

Development only, like the rest of localstage/.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed

from chalicelib.adapters import pusher

STAGE = "api"  # API Gateway's stage name for every Okpay API (.chalice/config.json)
API_ID = "local"
# API Gateway's limit on one WebSocket message.
MAX_MESSAGE_BYTES = 128 * 1024
_CLOSE = object()


@dataclass
class _Socket:
    connection_id: str
    outbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    websocket: Any = None


class _LambdaContext:
    """What a handler may read of Lambda's context object."""

    function_name = "okpay-local-websocket"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:okpay-local-websocket"

    def __init__(self) -> None:
        self.aws_request_id = uuid.uuid4().hex

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class WsBridge:
    """Serves `app`'s WebSocket handlers on `host:port` from a thread of its own (`start`, `stop`)."""

    def __init__(self, app: Any, port: int, host: str = "127.0.0.1", workers: int = 32) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ws-handler")
        self._sockets: dict[str, _Socket] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    # --- running --------------------------------------------------------------------------------

    def start(self, timeout: float = 10) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="ws-bridge", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError(f"the WebSocket bridge did not start on {self.url}")
        if self._failure is not None:
            raise RuntimeError(f"the WebSocket bridge could not serve {self.url}") from self._failure

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._workers.shutdown(wait=False, cancel_futures=True)

    def install(self) -> None:
        """Make this bridge the app's pusher backend (chalicelib/adapters/pusher.py)."""
        pusher.use_backend(self)

    def _run(self, ready: threading.Event) -> None:
        try:
            asyncio.run(self._serve(ready))
        except BaseException as error:  # reported by start(); a failure later ends the bridge
            self._failure = error
            ready.set()

    async def _serve(self, ready: threading.Event) -> None:
        from websockets.asyncio.server import serve  # deferred: only `make run` serves sockets

        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        async with serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._connect,
            max_size=MAX_MESSAGE_BYTES,
        ):
            ready.set()
            await self._stopping.wait()

    # --- the pusher backend (called from any thread) ----------------------------------------------

    def post(self, connection_id: str, data: str) -> None:
        socket = self._sockets.get(connection_id)
        if socket is None or self._loop is None:
            raise pusher.Gone(connection_id)
        try:
            self._loop.call_soon_threadsafe(socket.outbox.put_nowait, data)
        except RuntimeError:  # the loop has stopped
            raise pusher.Gone(connection_id) from None

    def close(self, connection_id: str) -> None:
        socket = self._sockets.get(connection_id)
        if socket is not None and self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(socket.outbox.put_nowait, _CLOSE)

    # --- API Gateway's side of a connection -------------------------------------------------------

    async def _connect(self, connection: Any, request: Any) -> Any:
        """The upgrade: `$connect`, then accept it (None) or refuse it with the handler's answer."""
        connection_id = _new_connection_id()
        query = dict(parse_qsl(urlsplit(request.path).query, keep_blank_values=True))
        headers = {name: value for name, value in request.headers.raw_items()}
        # Registered first: a push right after the handler accepts is queued for the writer.
        self._sockets[connection_id] = _Socket(connection_id)
        answer = await self._call("$connect", connection_id, query=query, headers=headers, source=connection)
        status = int(answer.get("statusCode") or 200) if isinstance(answer, dict) else 200
        if 200 <= status < 300:
            connection.okpay_connection_id = connection_id
            return None
        self._sockets.pop(connection_id, None)
        response = connection.respond(status, str(answer.get("body") or ""))
        for name, value in (answer.get("headers") or {}).items():
            if name in response.headers:
                del response.headers[name]
            response.headers[name] = value
        return response

    async def _handle(self, websocket: Any) -> None:
        connection_id = websocket.okpay_connection_id
        socket = self._sockets[connection_id]
        socket.websocket = websocket
        writer = asyncio.create_task(self._write(socket))
        try:
            # Ends when the client closes; a dropped connection ends it with ConnectionClosedError.
            with contextlib.suppress(ConnectionClosed):
                async for message in websocket:
                    body = message if isinstance(message, str) else message.decode("utf-8", "replace")
                    await self._call("$default", connection_id, body=body, source=websocket)
        finally:
            self._sockets.pop(connection_id, None)
            writer.cancel()
            await self._call("$disconnect", connection_id, source=websocket)

    async def _write(self, socket: _Socket) -> None:
        while True:
            item = await socket.outbox.get()
            try:
                if item is _CLOSE:  # the app closed it (API Gateway's DeleteConnection)
                    await socket.websocket.close(1000, "closed by the server")
                    return
                await socket.websocket.send(item)
            except Exception:  # closed meanwhile: the reader ends and disconnects
                return

    async def _call(self, route_key: str, connection_id: str, *, source: Any, **parts: Any) -> Any:
        event = self._event(route_key, connection_id, source=source, **parts)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._workers, self._invoke, route_key, event)
        except Exception as error:  # a handler that failed: API Gateway answers 500 on connect
            print(f"ws-bridge: {route_key} handler failed: {error!r}", flush=True)
            return {"statusCode": 500, "body": ""}

    def _invoke(self, route_key: str, event: dict[str, Any]) -> Any:
        """The Lambda entry point for the route (what Chalice's handler string names), as Lambda calls it."""
        config = self.app.websocket_handlers[route_key]
        handler = self.app.handler_map[config.name]
        return handler(event, _LambdaContext())

    def _event(
        self,
        route_key: str,
        connection_id: str,
        *,
        source: Any,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: str | None = None,
    ) -> dict[str, Any]:
        now_ms = int(time.time() * 1000)
        peer = getattr(source, "remote_address", None) or ("127.0.0.1", 0)
        event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
        context: dict[str, Any] = {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": uuid.uuid4().hex,
            "requestTime": datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "messageDirection": "IN",
            "stage": STAGE,
            "connectedAt": now_ms,
            "requestTimeEpoch": now_ms,
            "identity": {"sourceIp": peer[0], "userAgent": (headers or {}).get("User-Agent", "")},
            "requestId": uuid.uuid4().hex,
            "domainName": f"{self.host}:{self.port}",
            "connectionId": connection_id,
            "apiId": API_ID,
        }
        event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
        if route_key == "$connect":
            event["headers"] = headers or {}
            event["multiValueHeaders"] = {name: [value] for name, value in (headers or {}).items()}
            event["queryStringParameters"] = query or None
        elif route_key == "$disconnect":
            context["disconnectStatusCode"] = 1000
        else:
            context["messageId"] = uuid.uuid4().hex
            event["body"] = body
        return event


def _new_connection_id() -> str:
    # API Gateway's ids look like "L0SM9cOFvHcCIhw=": short, opaque, unique.
    return secrets.token_urlsafe(12)
