"""The hot-payee line: N payers sending to ONE payee at once, against N payers each sending to their own.

Over real HTTP, on the local stage as `make run` serves it (`python -m localstage.server`: the app on
127.0.0.1, a moto server inside), in a subprocess of its own. 2N verified users with money are written
straight into that moto server's tables (KYC level 3, phone verified, every payee already paid once,
so no transfer needs a code: 1 fen each is far inside the step-up budget); the N payers sign in over
HTTP. Then N threads each send M transfers back to back: (a) all to one payee, (b) each to its own.

Every credit to a wallet is conditioned on the balance version read before it
(chalicelib/services/wallet/ledger.py `post`), so concurrent credits to ONE wallet conflict: all but one
are cancelled, re-read and retried with jittered backoff, up to 10 attempts, then `503 try_again`.
The server logs each retry ("ledger conflict, retrying"); they are counted per phase.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.bench.harness import PROJECT_DIR, REGION

PORT = 8131  # the stage's port when free, else any free one
TRANSFERS_EACH = 25  # M: transfers each payer sends, back to back, per phase
GOAL = 0.5  # one payee's completed transfers per second, as a share of N payees'
PASSWORD = "Plum-Orbit-Canvas-93!"
START_BALANCE = 100_000  # 1,000 CNY per user
STARTUP_SECONDS = 120
REQUEST_SECONDS = 30
CONFLICT_LINE = b"ledger conflict, retrying"
STAMP = "2026-01-01T00:00:00.000000Z"  # when the bench's users were "created"


@dataclass
class Stage:
    """The running local stage: its base URL, its moto endpoint and the log it writes."""

    base: str
    moto_endpoint: str
    log: Path

    def call(self, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """POST `body` as JSON; (status, parsed answer). Never raises for an HTTP error status."""
        request = urllib.request.Request(
            f"{self.base}{path}",
            method="POST",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_SECONDS) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def conflicts_logged(self) -> int:
        """How many ledger retries the server has logged so far."""
        return self.log.read_bytes().count(CONFLICT_LINE)


@dataclass
class Payer:
    user_id: str
    auth: dict[str, str]


@dataclass
class Phase:
    """One run: every payer sending its transfers at once."""

    name: str
    seconds: float
    completed: int
    refused: Counter[str] = field(default_factory=Counter)  # non-201 answers, by status
    retries: int = 0  # ledger conflicts the server retried during the phase

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0


# --- the local stage ----------------------------------------------------------------------------------


def _port() -> int:
    """PORT when nothing listens on it, else a free port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", PORT))
            return PORT
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]


@contextmanager
def local_stage() -> Iterator[Stage]:
    """`make run`'s server in a subprocess, once it answers /health; stopped (then killed) on exit."""
    port = _port()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "OKPAY_"))}
    env.update(PORT=str(port), AWS_DEFAULT_REGION=REGION)
    with tempfile.TemporaryDirectory(prefix="bench-hot-payee-") as folder:
        log_path = Path(folder) / "server.log"
        with log_path.open("wb") as log:  # a file, not a pipe: a full pipe would block the server
            process = subprocess.Popen(
                [sys.executable, "-m", "localstage.server"], cwd=PROJECT_DIR, env=env, stdout=log, stderr=log
            )
            try:
                stage = Stage(f"http://127.0.0.1:{port}", _wait_until_up(process, port, log_path), log_path)
                yield stage
            finally:
                _stop(process)


def _wait_until_up(process: subprocess.Popen, port: int, log: Path) -> str:
    """Poll /health until it answers 200; the moto endpoint the server printed."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the local stage did not start on port {port}:\n{tail}")
        time.sleep(0.2)
    printed = re.search(r"moto on (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
    if printed is None:
        raise RuntimeError("the local stage did not say where its moto server is")
    return printed.group(1)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (the server shuts down and stops moto), then kill if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- the users --------------------------------------------------------------------------------------------


def _moto_dynamodb(stage: Stage) -> Any:
    import botocore.session

    return botocore.session.get_session().create_client(
        "dynamodb",
        endpoint_url=stage.moto_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _write_users(stage: Stage, count: int) -> list[str]:
    """`count` active users with a verified phone, KYC level 3 and 1,000 CNY; their ids."""
    from chalicelib.services.identity.passwords import hash_password
    from localstage.server import stage_environment

    prefix = stage_environment()["OKPAY_TABLE_PREFIX"]
    dynamodb, password_hash = _moto_dynamodb(stage), hash_password(PASSWORD)
    user_ids = []
    for n in range(count):
        user_id, phone, stamp = f"usr_hot{n:05d}", _phone(n), STAMP
        items = {
            "users": {
                "user_id": {"S": user_id},
                "created_at": {"S": stamp},
                "phone": {"S": phone},
                "phone_verified": {"BOOL": True},
                "email_verified": {"BOOL": False},
                "locale": {"S": "en"},
                "role": {"S": "user"},
                "status": {"S": "active"},
                "password_hash": {"S": password_hash},
                "mfa_sms": {"BOOL": False},
                "mfa_email": {"BOOL": False},
            },
            "claims": {"claim": {"S": f"phone#{phone}"}, "user_id": {"S": user_id}, "created_at": {"S": stamp}},
            "kyc": {
                "user_id": {"S": user_id},
                "record": {"S": "current"},
                "status": {"S": "approved"},
                "level": {"N": "3"},
                "approved_real_name": {"S": f"用户{n}"},
            },
            "balances": {
                "account_id": {"S": f"user#{user_id}"},
                "currency": {"S": "CNY"},
                "available": {"N": str(START_BALANCE)},
                "version": {"N": "0"},
            },
        }
        for table, item in items.items():
            dynamodb.put_item(TableName=f"{prefix}{table}", Item=item)
        user_ids.append(user_id)
    return user_ids


def _mark_paid_before(stage: Stage, pairs: list[tuple[str, str]]) -> None:
    """Each payer has paid the payee before: no new-payee confirmation."""
    from localstage.server import stage_environment

    table = f"{stage_environment()['OKPAY_TABLE_PREFIX']}claims"
    dynamodb = _moto_dynamodb(stage)
    for payer, payee in pairs:
        item = {"claim": {"S": f"payee#{payer}#{payee}"}, "user_id": {"S": payer}, "created_at": {"S": STAMP}}
        dynamodb.put_item(TableName=table, Item=item)


def _phone(n: int) -> str:
    return f"+86137{n:08d}"


def _sign_in(stage: Stage, user_ids: list[str]) -> list[Payer]:
    """Sign the first users in over HTTP (`user_ids` are the first of `_write_users`)."""
    payers = []
    for n, user_id in enumerate(user_ids):
        body = {"login": _phone(n), "password": PASSWORD, "device_id": "bench-hot-payee"}
        status, tokens = stage.call("/auth/login", body)
        if status != 200:
            raise RuntimeError(f"sign-in of {user_id} failed: {status} {tokens}")
        payers.append(Payer(user_id, {"Authorization": f"Bearer {tokens['access_token']}"}))
    return payers


# --- the measurement ---------------------------------------------------------------------------------------


def _transfer(stage: Stage, payer: Payer, payee: str) -> str:
    """1 fen to `payee`; the answer's status (or the error's name when there was none)."""
    body = {"recipient": {"user_id": payee}, "amount": 1, "currency": "CNY"}
    try:
        status, _ = stage.call("/transfers", body, {**payer.auth, "Idempotency-Key": uuid.uuid4().hex})
    except OSError as error:
        return type(error).__name__
    return str(status)


def _run_phase(stage: Stage, name: str, pairs: list[tuple[Payer, str]], each: int) -> Phase:
    """One thread per (payer, payee) pair, `each` transfers back to back, all released at once."""
    start = threading.Barrier(len(pairs) + 1)
    answers: list[list[str]] = [[] for _ in pairs]

    def send(index: int, payer: Payer, payee: str) -> None:
        start.wait()
        for _ in range(each):
            answers[index].append(_transfer(stage, payer, payee))

    threads = [threading.Thread(target=send, args=(i, *pair), daemon=True) for i, pair in enumerate(pairs)]
    for thread in threads:
        thread.start()
    retries_before = stage.conflicts_logged()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(timeout=each * REQUEST_SECONDS)
    seconds = time.perf_counter() - began
    statuses = Counter(status for thread_answers in answers for status in thread_answers)
    completed = statuses.pop("201", 0)
    lost = len(pairs) * each - completed - sum(statuses.values())
    if lost:
        statuses["unanswered"] = lost
    return Phase(name, seconds, completed, statuses, stage.conflicts_logged() - retries_before)


def measure(payers: int, each: int = TRANSFERS_EACH) -> tuple[Phase, Phase]:
    """(a) `payers` payers → one payee, (b) `payers` payers → as many payees, on a fresh local stage."""
    with local_stage() as stage:
        user_ids = _write_users(stage, 2 * payers)
        payer_ids, payees = user_ids[:payers], user_ids[payers:]
        hot = payees[0]
        _mark_paid_before(stage, [(payer, hot) for payer in payer_ids] + list(zip(payer_ids, payees, strict=True)))
        signed_in = _sign_in(stage, payer_ids)
        for payer, payee in zip(signed_in, payees, strict=True):  # warm the server's paths, off the clock
            _transfer(stage, payer, payee)
        one = _run_phase(stage, "one payee", [(payer, hot) for payer in signed_in], each)
        spread = _run_phase(stage, f"{payers} payees", list(zip(signed_in, payees, strict=True)), each)
    return one, spread


def print_hot_payee(one: Phase, spread: Phase, payers: int, each: int) -> None:
    ratio = one.per_second / spread.per_second if spread.per_second else 0.0
    verdict = "meets the goal" if ratio >= GOAL else "BELOW GOAL"
    print(f"Hot payee: {payers} payers sending {each} transfers of 1 fen each at once, over HTTP (make run, moto)")
    for phase in (one, spread):
        refused = ", ".join(f"{count} x {status}" for status, count in sorted(phase.refused.items())) or "none"
        print(
            f"  to {phase.name:<12} {phase.per_second:7.1f} completed/s  ({phase.completed} in {phase.seconds:.2f} s;"
            f" not 201: {refused}; ledger retries: {phase.retries})"
        )
    print(f"  ratio one/many       {ratio:7.2f}   (goal >= {GOAL}: {verdict})")
    print(
        "  What limits it: every credit is conditioned on the payee's balance version read before it, so"
        " concurrent credits to one wallet cancel, re-read and retry with jittered backoff (ledger.post)."
    )
