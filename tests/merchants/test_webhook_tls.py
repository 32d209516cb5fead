"""Webhooks over https reach the address that was checked, and TLS still proves the merchant's host.

The delivery connects to an address resolved and checked beforehand (no second DNS lookup that a
rebinding name could move), so the certificate must be verified against the URL's host name, not the
address: a receiver at that address with a certificate for another name, or one nobody vouches for,
gets nothing.
"""

from __future__ import annotations

import datetime
import http.server
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chalicelib.adapters import webhook_http


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for `shop.test`, and its files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("shop.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture
def https_receiver(certificate):
    """An https receiver on 127.0.0.1 answering 204; yields (port, requests seen)."""
    seen: list[tuple[str, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append((self.headers["Host"], self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def trust(monkeypatch, certificate):
    """Make the test certificate one the delivery's default context trusts (as a public CA would be)."""
    original = ssl.create_default_context

    def trusting(*args, **kwargs):
        context = original(*args, **kwargs)
        context.load_verify_locations(certificate[0])
        return context

    monkeypatch.setattr(ssl, "create_default_context", trusting)


def _post(port: int, host: str) -> int:
    return webhook_http.post(
        scheme="https",
        host=host,
        port=port,
        address="127.0.0.1",
        target="/okpay/webhooks?shop=1",
        body=b'{"event_id":"evt_1"}',
        headers={"Content-Type": "application/json"},
        timeout=5,
    )


def test_https_delivery_to_the_checked_address_verifies_the_host_name(https_receiver, trust):
    port, seen = https_receiver
    assert _post(port, "shop.test") == 204
    assert seen == [(f"shop.test:{port}", b'{"event_id":"evt_1"}')]


def test_a_certificate_for_another_name_gets_nothing(https_receiver, trust):
    port, seen = https_receiver
    with pytest.raises(Exception, match=r"(?i)certificate|hostname|match"):
        _post(port, "other-shop.test")
    assert seen == []


def test_a_certificate_nobody_vouches_for_gets_nothing(https_receiver):
    port, seen = https_receiver
    with pytest.raises(Exception, match=r"(?i)certificate|verify"):
        _post(port, "shop.test")
    assert seen == []
