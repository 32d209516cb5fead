"""The real local stage (`python -m localstage.server`) in a subprocess, for tests that
must go over HTTP the way the app does: the `make run` smoke test and concurrent workloads."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]


@dataclass
class LiveServer:
    base: str
    port: int
    moto_endpoint: str
    process: subprocess.Popen

    @property
    def ws_port(self) -> int:
        """The live-chat WebSocket's port: the HTTP port + 1 (contract, section 10)."""
        return self.port + 1

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    def call(self, path: str, method: str = "GET", body: Any = None, headers: dict | None = None):
        data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        return fetch(f"{self.base}{path}", method, data, all_headers)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_port_pair() -> int:
    """A free port whose successor is free too: the server's HTTP port and its WebSocket's."""
    for _ in range(50):
        port = free_port()
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no two consecutive free ports")


def fetch(url: str, method: str = "GET", data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


@contextmanager
def local_server(log_path: Path, extra_env: dict[str, str] | None = None):
    port = free_port_pair()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(extra_env or {})  # e.g. the shell's AWS_DEFAULT_REGION
    env["PORT"] = str(port)
    log = log_path.open("w+b")  # a pipe could fill and block the server
    process = subprocess.Popen(
        [sys.executable, "-m", "localstage.server"], cwd=PROJECT_DIR, env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if fetch(f"{base}/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"local server did not start:\n{log.read().decode()}")
            time.sleep(0.2)
        log.seek(0)
        moto = re.search(rb"moto on (http://127\.0\.0\.1:\d+)", log.read()).group(1).decode()
        yield LiveServer(base, port, moto, process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.close()
