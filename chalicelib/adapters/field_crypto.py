"""Encryption of single fields at rest (TOTP secrets, ID numbers).

Deployed stages use KMS with an encryption context naming the field and its owner, so a value
copied onto another user's item does not decrypt. The local stage uses AES-GCM with a key derived
from the process's master key, the context bound as associated data.
"""

from __future__ import annotations

import base64
import json
import os

from chalicelib.adapters import aws
from chalicelib.adapters.config import get_settings
from chalicelib.adapters.keys import derived_key


def encrypt_field(plaintext: str, context: dict[str, str]) -> str:
    settings = get_settings()
    if settings.is_local:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # deferred: heavy (cryptography ~20 ms)

        nonce = os.urandom(12)
        sealed = AESGCM(derived_key("fields")).encrypt(nonce, plaintext.encode(), _aad(context))
        return "local:" + base64.b64encode(nonce + sealed).decode()
    blob = aws.client("kms").encrypt(
        KeyId=settings.field_key_id, Plaintext=plaintext.encode(), EncryptionContext=context
    )["CiphertextBlob"]
    return "kms:" + base64.b64encode(blob).decode()


def decrypt_field(sealed: str, context: dict[str, str]) -> str:
    scheme, _, payload = sealed.partition(":")
    raw = base64.b64decode(payload)
    if scheme == "local":
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # deferred: heavy (cryptography ~20 ms)

        return AESGCM(derived_key("fields")).decrypt(raw[:12], raw[12:], _aad(context)).decode()
    if scheme == "kms":
        return aws.client("kms").decrypt(CiphertextBlob=raw, EncryptionContext=context)["Plaintext"].decode()
    raise ValueError("unknown field encryption scheme")


def _aad(context: dict[str, str]) -> bytes:
    return json.dumps(context, sort_keys=True, separators=(",", ":")).encode()
