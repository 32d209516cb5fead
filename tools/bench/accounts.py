"""The users the operations act as: bench accounts written straight to the tables, their sessions,
and a signed-in JSON request as the wallet's payer."""

from __future__ import annotations

import json
import time
from typing import Any

from tools.bench.harness import Bench

BENCH_PASSWORD = "Plum-Orbit-Canvas-93!"


def make_user(bench: Bench, n: int, *, with_password: bool = False) -> Any:
    from chalicelib.adapters import clock
    from chalicelib.services.identity.passwords import hash_password
    from chalicelib.store.users import Claim, User, phone_claim

    user = User(
        f"usr_bench{n:05d}",
        created_at=clock.stamp(clock.now()),
        phone=f"+86135{n:08d}",
        phone_verified=True,
        email=f"bench{n}@example.com",
        email_verified=True,
        locale="zh-CN",
        password_hash=hash_password(BENCH_PASSWORD) if with_password else None,
    )
    user.save()
    Claim(phone_claim(user.phone), user_id=user.user_id, created_at=user.created_at).save()
    return user


def tokens_for(user: Any, device: str = "bench-device") -> Any:
    from chalicelib.adapters import clock
    from chalicelib.services.identity import sessions

    # An agent signs in with TOTP, as /admin needs (the seeded agents have it enrolled).
    second_factor = "totp" if user.role == "agent" and user.totp_enabled else None
    return sessions.start_session(
        user, device_id=device, device_name=None, now=clock.now(), second_factor=second_factor
    )


def get_user(bench: Bench, user_id: str) -> Any:
    return bench.client("dynamodb").get_item(
        TableName=bench.table("users"), Key={"user_id": {"S": user_id}}, ConsistentRead=True
    )


def post_json(bench: Bench, path: str, body: dict, key: bool = True) -> Any:
    headers = {**bench.state["payer_auth"], "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = f"bench-{time.perf_counter_ns()}"
    return bench.http.post(path, headers=headers, body=json.dumps(body).encode())
