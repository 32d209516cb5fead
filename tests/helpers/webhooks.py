"""A real webhook receiver on 127.0.0.1 (http.server in a thread) and an independent check of
`Okpay-Signature`, written here with the standard library rather than the app's code."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next planned reply (a status, or ("sleep", seconds) then 200);
    `status` once the plan is used up. Everything received is kept in `received`; `most_at_once` is
    the most requests it was answering at the same time."""

    status: int = 200
    plan: list[Any] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    most_at_once: int = 0
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/okpay/hooks"

    def next_reply(self) -> Any:
        with self.lock:
            return self.plan.pop(0) if self.plan else self.status

    def bodies(self) -> list[bytes]:
        with self.lock:
            return [item.body for item in self.received]


def start_receiver() -> Receiver:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                receiver.in_flight += 1
                receiver.most_at_once = max(receiver.most_at_once, receiver.in_flight)
            try:
                reply = receiver.next_reply()
                if isinstance(reply, tuple):  # ("sleep", seconds): answer too late
                    time.sleep(reply[1])
                    reply = 200
                self.send_response(reply)
                self.send_header("Content-Length", "0")
                self.end_headers()
            finally:
                with receiver.lock:
                    receiver.in_flight -= 1

        def log_message(self, *args: Any) -> None:
            pass

    receiver.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.server.daemon_threads = True
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    return receiver


def stop_receiver(receiver: Receiver) -> None:
    if receiver.server is not None:
        receiver.server.shutdown()
        receiver.server.server_close()


def verified_signatures(header: str, body: bytes, secrets: list[str], now: float, tolerance: int = 300) -> list[str]:
    """The secrets whose `v1=` in `header` signs `body` (constant-time compare), given a `t` within
    `tolerance` seconds of `now`; raises AssertionError for a stale or malformed header."""
    parts = [item.split("=", 1) for item in header.split(",")]
    timestamps = [value for key, value in parts if key == "t"]
    assert len(timestamps) == 1 and timestamps[0].isdigit(), header
    assert abs(now - int(timestamps[0])) <= tolerance, (header, now)
    signed = timestamps[0].encode() + b"." + body
    given = [value for key, value in parts if key == "v1"]
    return [
        secret
        for secret in secrets
        if any(hmac.compare_digest(hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest(), v) for v in given)
    ]
