"""Reading the one-time codes the app sent, from the local outbox."""

from __future__ import annotations

import re

from chalicelib.adapters import outbox

_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def codes_sent(to: str) -> list[str]:
    """Every 6-digit code sent to `to`, newest first (notices carry none)."""
    found = []
    for message in outbox.messages(to):
        match = _CODE.search(message.body)
        if match and ("code" in message.body.lower() or "验证码" in message.body):
            found.append(match.group(1))
    return found


def last_code(to: str) -> str:
    """The newest code sent to `to`; fails the test when none was sent."""
    found = codes_sent(to)
    assert found, f"no code sent to {to}: {[m.body for m in outbox.messages(to)]}"
    return found[0]
