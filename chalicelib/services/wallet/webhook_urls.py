"""Whether a merchant's `webhook_url` may be called (contract v1.2, section 14): no SSRF.

`https` only, no user info, and every address the host resolves to must be a public one: not
private, loopback, link-local, multicast, reserved, unspecified or otherwise not global, IPv4 or
IPv6, including IPv4 carried inside IPv6 (mapped, NAT64, 6to4, Teredo). A host in any numeric form
the C resolver accepts (`2130706433`, `0x7f.1`, `127.1`) is read as the IPv4 address it is, not
looked up. The local stage also allows `http://127.0.0.1:<port>` (a test receiver on this machine).

The check runs when the URL is set; the delivery (`delivery_addresses`) resolves again and connects
only to an address that passes `is_public_address`, so a name re-pointed later (DNS rebinding) gains
nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from chalicelib.adapters import dns
from chalicelib.errors import OkpayError

MAX_LENGTH = 2048
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def checked_webhook_url(url: str, *, local: bool) -> str:
    """`url` when it may be called, else `400 validation_error` on `webhook_url`."""
    if not _acceptable(url, local=local):
        raise OkpayError("validation_error", field="webhook_url")
    return url


def delivery_addresses(url: str, *, local: bool) -> list[str]:
    """The addresses a delivery to `url` may connect to, resolved now: empty when the URL is no
    longer acceptable or any address the host now resolves to is not public (DNS rebinding)."""
    if not _acceptable(url, local=local):
        return []
    parts = urlsplit(url)
    host = parts.hostname or ""
    if local and parts.scheme == "http":
        return [host]  # http is only ever the local stage's 127.0.0.1
    literal = _literal_address(host)
    addresses = [literal] if literal is not None else dns.resolve(host)
    if not addresses or not all(is_public_address(address) for address in addresses):
        return []
    return addresses


def is_public_address(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # a zone index (fe80::1%eth0) is not global
    except ValueError:
        return False
    return all(_is_public(part) for part in _embedded(address))


def _acceptable(url: str, *, local: bool) -> bool:
    if len(url) > MAX_LENGTH or any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port  # a malformed port raises here
        host = parts.hostname
    except ValueError:
        return False
    if not host or parts.username is not None or parts.password is not None:
        return False
    if local and parts.scheme == "http" and port is not None and parts.netloc == f"127.0.0.1:{port}":
        return True  # the local stage's test receiver
    if parts.scheme != "https":
        return False
    literal = _literal_address(host)
    if literal is not None:
        return is_public_address(literal)
    addresses = dns.resolve(host)
    return bool(addresses) and all(is_public_address(address) for address in addresses)


def _literal_address(host: str) -> str | None:
    """The address a numeric host stands for (IPv6 in brackets, or IPv4 in any inet_aton form)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if host.replace(".", "").replace("x", "").replace("X", "").isalnum() and host[0].isdigit():
        try:
            return socket.inet_ntoa(socket.inet_aton(host))  # 2130706433, 0x7f.1, 0177.0.0.1, 127.1
        except OSError:
            return None
    return None


def _embedded(address: Address) -> list[Address]:
    """The address and any IPv4 address it carries."""
    found: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
        if address in _NAT64:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _is_public(address: Address) -> bool:
    return (
        not (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_multicast
            or address.is_reserved
            or address.is_unspecified
            or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
        )
        and address.is_global
    )
