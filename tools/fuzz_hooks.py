"""Schemathesis hooks for `make fuzz` (loaded by schemathesis, not by the app or pytest).

* The test clock: `PUT /_local/clock` is fuzzed with any date the schema allows, and the clock is
  process-wide: left at year 9999 it would move every later request. So each PUT is followed at once
  by `DELETE /_local/clock`, and the next request runs on real time again (the run uses one worker).
* Signed-in routes get the seeded agent's access token (password, then TOTP). It is fetched here,
  outside what schemathesis sees (its own dynamic auth would hand the agent's login to the fuzzer,
  whose wrong passwords then lock the account), and fetched again after a 401: fuzzed logouts and
  closed sessions end it.
"""

from __future__ import annotations

import os
import time
from typing import Any

import requests
import schemathesis

CLOCK_PATH = "/_local/clock"
DEVICE_ID = "okpay-fuzz"


def _base_url(case: Any) -> str:
    return (os.environ.get("OKPAY_FUZZ_BASE_URL") or case.operation.base_url).rstrip("/")


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    if case.operation.path == CLOCK_PATH and case.method.upper() == "PUT":
        requests.delete(_base_url(case) + CLOCK_PATH, timeout=10)


def _signed_in(case: Any) -> bool:
    """Whether the document asks for a bearer token on this operation: the document's default
    (`security: [{bearer: []}]`) unless the operation says `security: []` (a public route)."""
    return case.operation.definition.raw.get("security") != []


@schemathesis.auth(refresh_interval=600)  # a new token on a 401 too (schemathesis's default retry_on)
class AgentSession:
    def get(self, case: Any, context: Any) -> str | None:
        import pyotp

        from localstage.seed import AGENT_EMAIL, AGENT_PASSWORD, AGENT_TOTP_SECRET

        base = _base_url(case)
        response = requests.post(
            base + "/auth/login",
            json={"login": AGENT_EMAIL, "password": AGENT_PASSWORD, "device_id": DEVICE_ID},
            timeout=10,
        )
        if response.status_code != 200:
            return None
        challenge = response.json()  # the agent has TOTP (as /admin needs): answer the challenge
        for step in (0, 30):  # a code works once: after a sign-in within the same 30 s, the next one
            code = pyotp.TOTP(AGENT_TOTP_SECRET).at(time.time() + step)
            verify = {"mfa_token": challenge.get("mfa_token"), "method": "totp", "code": code}
            verified = requests.post(base + "/auth/mfa/verify", json=verify, timeout=10)
            if verified.status_code == 200:
                return verified.json().get("access_token")
        return None

    def set(self, case: Any, token: str | None, context: Any) -> None:
        if token and _signed_in(case):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
