"""Requests served at the same time never see each other's request (issue 10, item 13).

Chalice keeps `current_request` on the app object, which the threads of `chalice local` and of the
test client share; the view reads its own request from a contextvar the middleware sets
(chalicelib/api/request_context.py). A burst of different callers released together must each be
answered about themselves.
"""

from __future__ import annotations

from tests.helpers.auth import register_user
from tests.helpers.http import auth, body_of
from tests.helpers.parallel import run_together

USERS = 10
ROUNDS = 5


def test_a_parallel_burst_of_different_users_each_get_their_own_profile(client):
    users = [
        {**register_user(client, display_name=f"Caller {n}", verify_email=False), "display_name": f"Caller {n}"}
        for n in range(USERS)
    ]

    def me_of(user):
        return lambda: client.get("/me", headers=auth(user["access_token"]))

    request_ids = set()
    for _ in range(ROUNDS):
        responses = run_together(*(me_of(user) for user in users))
        for user, response in zip(users, responses, strict=True):
            assert response.status_code == 200, response.body
            profile = body_of(response)
            mine = (user["user_id"], user["phone"], user["email"], user["display_name"])
            assert (profile["user_id"], profile["phone"], profile["email"], profile["display_name"]) == mine
            request_ids.add(response.headers["X-Request-Id"])
    assert len(request_ids) == USERS * ROUNDS  # every reply carries its own request's id


def test_a_parallel_burst_mixing_callers_and_anonymous_requests_keeps_each_answer(client):
    users = [register_user(client, verify_email=False) for _ in range(4)]
    calls = []
    for user in users:
        calls.append(lambda user=user: ("user", user, client.get("/me", headers=auth(user["access_token"]))))
        calls.append(lambda user=user: ("anonymous", user, client.get("/me")))
    for kind, user, response in run_together(*calls):
        if kind == "user":
            assert response.status_code == 200 and body_of(response)["user_id"] == user["user_id"]
        else:
            assert response.status_code == 401, response.body
            assert body_of(response)["error"]["request_id"] == response.headers["X-Request-Id"]
