"""The signed reply address of an email ticket: `<local>+t.<ticket_id>.<sig>@<support domain>`.

Acknowledgements and agent replies carry it as `Reply-To`, so the customer's answer names its
ticket whatever their mail client does to the subject and headers. `sig` is the first 80 bits of
an HMAC of the ticket id under a key derived for this purpose only, written in lower-case base32
(mail servers may lower-case a local part); with `support` the local part is 63 octets, under
RFC 5321's 64. A token that does not verify names no ticket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from chalicelib.adapters.config import get_settings
from chalicelib.adapters.keys import derived_key

_PURPOSE = "mail_reply"
_TOKEN = re.compile(r"^[^+@\s]+\+t\.(tkt_[0-9a-f]{32})\.([a-z2-7]{16})@(.+)$", re.IGNORECASE)


def _signature(ticket_id: str) -> str:
    digest = hmac.new(derived_key(_PURPOSE), ticket_id.encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode("ascii").lower()


def reply_address(ticket_id: str) -> str:
    local, _, domain = get_settings().support_email.partition("@")
    return f"{local}+t.{ticket_id}.{_signature(ticket_id)}@{domain}"


def ticket_of(addresses: list[str]) -> tuple[str | None, bool]:
    """(ticket id, forged): the ticket a signed reply address among `addresses` names; `forged` when an
    address has the token's shape at our domain but its signature does not verify."""
    domain = get_settings().support_email.partition("@")[2].lower()
    forged = False
    for address in addresses:
        found = _TOKEN.match(address.strip())
        if not found or found.group(3).lower() != domain:
            continue
        ticket_id, signature = found.group(1).lower(), found.group(2).lower()
        if hmac.compare_digest(signature, _signature(ticket_id)):
            return ticket_id, False
        forged = True
    return None, forged
