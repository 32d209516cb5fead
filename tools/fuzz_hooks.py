"""Schemathesis hooks for `make fuzz` (loaded by schemathesis, not by the app or pytest).

* The test clock: `PUT /_local/clock` is fuzzed with any date the schema allows, and the clock is
  process-wide: left at year 9999 it would move every later request. So each PUT is followed at once
  by `DELETE /_local/clock`, and the next request runs on real time again (the run uses one worker).
  The same for `PUT /_local/faults`: left at throttle 1.0 every later request would be a 503.
* Signed-in routes get an access token: /admin the seeded agent's (password, then TOTP), the others
  a customer's registered by the hook. They are fetched here, outside what schemathesis sees (its own
  dynamic auth would hand the logins to the fuzzer, whose wrong passwords then lock the accounts),
  and fetched again after a 401: fuzzed logouts and closed sessions end them.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import requests
import schemathesis

CLOCK_PATH = "/_local/clock"
FAULTS_PATH = "/_local/faults"
DEVICE_ID = "okpay-fuzz"


def _base_url(case: Any) -> str:
    return (os.environ.get("OKPAY_FUZZ_BASE_URL") or case.operation.base_url).rstrip("/")


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    if case.operation.path in (CLOCK_PATH, FAULTS_PATH) and case.method.upper() == "PUT":
        requests.delete(_base_url(case) + case.operation.path, timeout=10)


def _signed_in(case: Any) -> bool:
    """Whether the document asks for a bearer token on this operation: the document's default
    (`security: [{bearer: []}]`) unless the operation says `security: []` (a public route)."""
    return case.operation.definition.raw.get("security") != []


# The customer the fuzzer signs in as on every route outside /admin: registered over HTTP on first use
# (its SMS code read from /_local/outbox). Fuzzed logouts and session deletions revoke its sessions,
# and it signs in again at once; the agent, whose TOTP code works once per 30 s, is kept for /admin,
# where nothing the fuzzer sends ends a session.
FUZZ_PHONE = "+8613700001234"
FUZZ_PASSWORD = "Fuzz-Orbit-Canvas-93!"


def _customer_token(base: str) -> str | None:
    login = {"login": FUZZ_PHONE, "password": FUZZ_PASSWORD, "device_id": DEVICE_ID}
    response = requests.post(base + "/auth/login", json=login, timeout=10)
    if response.status_code == 401:  # not registered yet
        requests.post(base + "/auth/register/start", json={"phone": FUZZ_PHONE}, timeout=10)
        outbox = requests.get(base + "/_local/outbox", params={"to": FUZZ_PHONE}, timeout=10).json()["data"]
        code = re.search(r"\b(\d{6})\b", outbox[0]["body"]).group(1)
        register = {
            "phone": FUZZ_PHONE,
            "code": code,
            "email": "schemathesis@example.com",
            "password": FUZZ_PASSWORD,
            "display_name": "Fuzz",
        }
        response = requests.post(base + "/auth/register", json=register, timeout=10)
    return response.json().get("access_token") if response.status_code in (200, 201) else None


def _agent_token(base: str) -> str | None:
    import pyotp

    from localstage.seed import AGENT_EMAIL, AGENT_PASSWORD, AGENT_TOTP_SECRET

    login = {"login": AGENT_EMAIL, "password": AGENT_PASSWORD, "device_id": DEVICE_ID}
    response = requests.post(base + "/auth/login", json=login, timeout=10)
    if response.status_code != 200:
        return None
    challenge = response.json()  # the agent has TOTP (as /admin needs): answer the challenge
    for step in (0, 30):  # a code works once: after a sign-in within the same 30 s, the next one
        code = pyotp.TOTP(AGENT_TOTP_SECRET).at(int(time.time()) + step)
        verify = {"mfa_token": challenge.get("mfa_token"), "method": "totp", "code": code}
        verified = requests.post(base + "/auth/mfa/verify", json=verify, timeout=10)
        if verified.status_code == 200:
            return verified.json().get("access_token")
    return None


@schemathesis.auth(refresh_interval=600)  # new tokens on a 401 too (schemathesis's default retry_on)
class FuzzSessions:
    agent: str | None = None

    def get(self, case: Any, context: Any) -> tuple[str | None, str | None]:
        base = _base_url(case)
        agent_works = (
            self.agent
            and requests.get(
                base + "/admin/tickets", headers={"Authorization": f"Bearer {self.agent}"}, timeout=10
            ).status_code
            == 200
        )
        if not agent_works:
            self.agent = _agent_token(base)
        return _customer_token(base), self.agent

    def set(self, case: Any, tokens: tuple[str | None, str | None], context: Any) -> None:
        customer, agent = tokens or (None, None)
        token = agent if case.operation.path.startswith("/admin") else customer
        if token and _signed_in(case):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
