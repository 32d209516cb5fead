"""Identity and KYC operations: sign-in, token refresh, `GET /me`, KYC submission and an agent's decision."""

from __future__ import annotations

import json
import time
from typing import Any

from tools.bench.accounts import BENCH_PASSWORD, get_user, make_user, tokens_for
from tools.bench.harness import Bench, Operation

OPERATIONS: list[Operation] = []


def _login_setup(bench: Bench) -> None:
    from chalicelib.adapters import clock
    from chalicelib.store.users import claim_once, device_claim

    user = make_user(bench, 1, with_password=True)
    claim_once(device_claim(user.user_id, "bench-phone"), user.user_id, clock.stamp(clock.now()))  # a known device
    bench.state["login_user"] = user


def _bare_login(bench: Bench) -> Any:
    # What a sign-in must do at least: find the account, read it, write a session.
    user = bench.state["login_user"]
    dynamodb = bench.client("dynamodb")
    dynamodb.get_item(TableName=bench.table("claims"), Key={"claim": {"S": f"phone#{user.phone}"}})
    get_user(bench, user.user_id)
    return dynamodb.put_item(
        TableName=bench.table("sessions"), Item={"session_id": {"S": f"ses_bare{time.perf_counter_ns()}"}}
    )


def _refresh_setup(bench: Bench) -> None:
    user = make_user(bench, 2)
    bench.state["refresh_token"] = tokens_for(user).refresh_token
    bench.state["refresh_user"] = user.user_id


def _refresh(bench: Bench) -> Any:
    response = bench.http.post(
        "/auth/token/refresh",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"refresh_token": bench.state["refresh_token"]}).encode(),
    )
    if response.status_code == 200:
        bench.state["refresh_token"] = json.loads(response.body)["refresh_token"]
    return response


def _bare_refresh(bench: Bench) -> Any:
    dynamodb = bench.client("dynamodb")
    key = {"session_id": {"S": bench.state["refresh_token"].split(".")[0]}}
    dynamodb.get_item(TableName=bench.table("sessions"), Key=key, ConsistentRead=True)
    # A refresh must also see the user's session generation (a "revoke all" since the session began).
    user_key = {"user_id": {"S": bench.state["refresh_user"]}}
    dynamodb.get_item(TableName=bench.table("users"), Key=user_key, ConsistentRead=True)
    return dynamodb.update_item(
        TableName=bench.table("sessions"),
        Key=key,
        UpdateExpression="SET refresh_count = :n",
        ExpressionAttributeValues={":n": {"N": "1"}},
    )


def _me_setup(bench: Bench) -> None:
    user = make_user(bench, 3)
    bench.state["me_user"] = user
    bench.state["me_auth"] = {"Authorization": f"Bearer {tokens_for(user).access_token}"}


def _me(bench: Bench) -> Any:
    return bench.http.get("/me", headers=bench.state["me_auth"])


def _bare_me(bench: Bench) -> Any:
    # The route's own reads: the user and the KYC case (the session check is the one extra read).
    user_id = bench.state["me_user"].user_id
    get_user(bench, user_id)
    return bench.client("dynamodb").get_item(
        TableName=bench.table("kyc"), Key={"user_id": {"S": user_id}, "record": {"S": "current"}}
    )


_KYC_USERS = 400


def _kyc_setup(bench: Bench) -> None:
    users = [make_user(bench, 1000 + n) for n in range(_KYC_USERS)]
    bench.state["kyc_auth"] = [{"Authorization": f"Bearer {tokens_for(user).access_token}"} for user in users]
    bench.state["kyc_users"] = users


def _resident_id(n: int) -> str:
    from stdnum.cn import ric

    body = f"110105{1960 + n % 40}0101{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def _submit_kyc(bench: Bench) -> Any:
    n = bench.state.setdefault("kyc_next", 0)
    bench.state["kyc_next"] = n + 1
    payload = {"real_name": "张三", "id_type": "cn_resident_id", "id_number": _resident_id(n)}
    return bench.http.post(
        "/me/kyc",
        headers={**bench.state["kyc_auth"][n], "Content-Type": "application/json"},
        body=json.dumps(payload).encode(),
    )


def _bare_submit_kyc(bench: Bench) -> Any:
    # Read the case and the identity claim, write the case.
    n = bench.state.get("kyc_next", 0)
    user_id = bench.state["kyc_users"][n % _KYC_USERS].user_id
    dynamodb = bench.client("dynamodb")
    key = {"user_id": {"S": user_id}, "record": {"S": "bare"}}
    dynamodb.get_item(TableName=bench.table("kyc"), Key=key, ConsistentRead=True)
    dynamodb.get_item(TableName=bench.table("claims"), Key={"claim": {"S": f"identity#bare{n}"}})
    return dynamodb.put_item(TableName=bench.table("kyc"), Item={**key, "status": {"S": "pending"}})


def agent_setup(bench: Bench) -> None:
    from chalicelib.store.users import User, email_claim, find_claim_owner
    from localstage.seed import AGENT_EMAIL

    agent = User.get(find_claim_owner(email_claim(AGENT_EMAIL)))
    bench.state["agent_auth"] = {"Authorization": f"Bearer {tokens_for(agent).access_token}"}
    bench.state["decided"] = 0


def _decide_kyc(bench: Bench) -> Any:
    n = bench.state["decided"]
    bench.state["decided"] = n + 1
    user_id = bench.state["kyc_users"][n].user_id
    return bench.http.post(
        f"/admin/kyc/{user_id}/decision",
        headers={**bench.state["agent_auth"], "Content-Type": "application/json"},
        body=json.dumps({"decision": "approve", "level": 1}).encode(),
    )


def _bare_decide_kyc(bench: Bench) -> Any:
    # Read the case and the user, then one transaction: case, decision record, identity claim.
    n = bench.state["decided"]
    user_id = bench.state["kyc_users"][n % _KYC_USERS].user_id
    dynamodb = bench.client("dynamodb")
    dynamodb.get_item(TableName=bench.table("kyc"), Key={"user_id": {"S": user_id}, "record": {"S": "current"}})
    get_user(bench, user_id)
    return dynamodb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": bench.table("kyc"),
                    "Item": {"user_id": {"S": user_id}, "record": {"S": f"bare#{n}a"}},
                }
            },
            {
                "Put": {
                    "TableName": bench.table("kyc"),
                    "Item": {"user_id": {"S": user_id}, "record": {"S": f"bare#{n}b"}},
                }
            },
            {"Put": {"TableName": bench.table("claims"), "Item": {"claim": {"S": f"identity#bare-decided{n}"}}}},
        ]
    )


OPERATIONS.append(
    Operation(
        "POST /auth/login",
        body={"login": "+8613500000001", "password": BENCH_PASSWORD, "device_id": "bench-phone"},
        setup=_login_setup,
        bare=_bare_login,
        bare_label="claim + user + session (no argon2)",
        bare_matches_calls=False,
        # lock read and the attempt counted before the password (v1.2), claim, user; session, device
        # seen (conditional); the `login` security event; clear the failure counts
        calls={"dynamodb.GetItem": 3, "dynamodb.UpdateItem": 1, "dynamodb.PutItem": 3, "dynamodb.DeleteItem": 2},
    )
)
OPERATIONS.append(
    Operation(
        "POST /auth/token/refresh",
        request=_refresh,
        setup=_refresh_setup,
        bare=_bare_refresh,
        bare_label="GetItem session + user generation, UpdateItem",
        calls={"dynamodb.GetItem": 2, "dynamodb.UpdateItem": 1},
    )
)
OPERATIONS.append(
    Operation(
        "GET /me",
        request=_me,
        setup=_me_setup,
        bare=_bare_me,
        bare_label="GetItem user + kyc (no session check)",
        bare_matches_calls=False,
        # the session check (session + user in one BatchGetItem; the route reuses the user), the KYC case
        calls={"dynamodb.BatchGetItem": 1, "dynamodb.GetItem": 1},
    )
)
OPERATIONS.append(
    Operation(
        "POST /me/kyc",
        request=_submit_kyc,
        setup=_kyc_setup,
        bare=_bare_submit_kyc,
        status=202,
        bare_label="case + identity claim + PutItem",
        bare_matches_calls=False,
        # the session check (one BatchGetItem, which holds the user); case, identity claim
        calls={"dynamodb.BatchGetItem": 1, "dynamodb.GetItem": 2, "dynamodb.PutItem": 1},
    )
)
OPERATIONS.append(
    Operation(
        "POST /admin/kyc/{user_id}/decision",
        request=_decide_kyc,
        setup=agent_setup,
        bare=_bare_decide_kyc,
        bare_label="case + user + TransactWriteItems",
        bare_matches_calls=False,
        # session check (BatchGet), case, user, identity claim (twice: before and inside the
        # decision); email and SMS, each recorded in the decision's transaction (the notice outbox),
        # then claimed and marked sent (2 UpdateItem each)
        calls={
            "dynamodb.BatchGetItem": 1,
            "dynamodb.GetItem": 4,
            "dynamodb.TransactWriteItems": 1,
            "dynamodb.UpdateItem": 4,
            "ses.SendEmail": 1,
            "sns.Publish": 1,
        },
    )
)
