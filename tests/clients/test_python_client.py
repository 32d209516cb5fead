"""A Python client generated from the served document with openapi-python-client does the core
money flow as is: sign up, verify, top up, a transfer that waits for its SMS code, the confirmation,
and a refusal whose typed `details` say how much is left.

The client is generated in the test run from what `make run` serves, and drives a real local stage
over HTTP; every reply is also checked against the document (tests/helpers/contract.py), so a
reply the document does not describe fails here even when the generated code would let it pass.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import uuid
from datetime import date

import httpx
import pytest

from localstage.seed import AGENT_EMAIL, AGENT_PASSWORD, AGENT_TOTP_SECRET
from tests.helpers.contract import check
from tests.helpers.kyc import resident_id
from tests.helpers.mfa import next_totp
from tests.helpers.paths import PROJECT_DIR
from tests.helpers.wallet import GOOD_CARD

PASSWORD = "Correct-Horse-Battery-9"
PACKAGE = "okpay_client"


@pytest.fixture(scope="module")
def okpay(live_stage, tmp_path_factory):
    """The generated package, imported."""
    out = tmp_path_factory.mktemp("client")
    spec = out / "openapi.json"
    spec.write_text(httpx.get(f"{live_stage.base}/openapi.json").text, encoding="utf-8")
    config = out / "config.yaml"
    config.write_text(f"project_name_override: okpay-client\npackage_name_override: {PACKAGE}\n", encoding="utf-8")
    venv_bin = PROJECT_DIR / ".venv" / "bin"
    result = subprocess.run(
        [
            *(str(venv_bin / "openapi-python-client"), "generate", "--path", str(spec), "--config", str(config)),
            *("--meta", "none", "--output-path", str(out / PACKAGE)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": f"{venv_bin}:/usr/bin:/bin"},  # its formatting hook runs the pinned ruff
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output and "Error" not in output, output  # nothing it had to skip
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _checked(response: httpx.Response) -> None:
    response.read()
    check(True, response.request.method, response.request.url.path, response.status_code, response.content)


@pytest.fixture(scope="module")
def anonymous(okpay, live_stage):
    return okpay.Client(base_url=live_stage.base, httpx_args={"event_hooks": {"response": [_checked]}})


def signed_in(okpay, live_stage, token: str):
    return okpay.AuthenticatedClient(
        base_url=live_stage.base, token=token, httpx_args={"event_hooks": {"response": [_checked]}}
    )


def api(operation: str):
    """An operation module of the generated package, e.g. `api("identity.post_auth_login")`."""
    return importlib.import_module(f"{PACKAGE}.api.{operation}")


def model(okpay, name: str, data: dict):
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name).from_dict(data)


def last_code(okpay, anonymous, to: str) -> str:
    outbox = api("local.get_local_outbox").sync(client=anonymous, to=to)
    return re.search(r"\b(\d{6})\b", outbox.data[0].body).group(1)


def sign_up(okpay, live_stage, anonymous, phone: str, email: str):
    start = api("identity.post_auth_register_start").sync_detailed(
        client=anonymous, body=model(okpay, "RegisterStart", {"phone": phone})
    )
    assert start.status_code == 202
    body = {
        "phone": phone,
        "code": last_code(okpay, anonymous, phone),
        "email": email,
        "password": PASSWORD,
        "display_name": "张三",
    }
    tokens = api("identity.post_auth_register").sync(client=anonymous, body=model(okpay, "Register", body))
    assert tokens.token_type == "Bearer"
    return tokens.user_id, signed_in(okpay, live_stage, tokens.access_token)


def verify(okpay, live_stage, user, agent, level: int, sequence: str) -> None:
    """Real-name verification at `level`, documents uploaded by presigned POST, approved by the agent."""
    user_id, client = user
    document_ids = []
    if level >= 2:
        for kind in ("id_front", "id_back", "selfie"):
            created = api("kyc.post_me_kyc_documents").sync(
                client=client, body=model(okpay, "DocumentRequest", {"kind": kind, "content_type": "image/jpeg"})
            )
            upload = created.upload
            fields = upload.fields.to_dict() if hasattr(upload.fields, "to_dict") else dict(upload.fields)
            stored = httpx.post(upload.url, data=fields, files={"file": ("scan.jpg", b"\xff\xd8 scan", "image/jpeg")})
            assert stored.status_code in (200, 201, 204), stored.text
            document_ids.append(created.document_id)
    submission = {
        "real_name": "张三",
        "id_type": "cn_resident_id",
        "id_number": resident_id(date(1990, 5, 1), sequence=sequence),
        "target_level": level,
        **({"document_ids": document_ids} if document_ids else {}),
    }
    submitted = api("kyc.post_me_kyc").sync_detailed(client=client, body=model(okpay, "KycSubmit", submission))
    assert submitted.status_code == 202, submitted.content
    decision = api("admin.post_admin_kyc_user_id_decision").sync_detailed(
        client=agent, user_id=user_id, body=model(okpay, "Decision", {"decision": "approve", "level": level})
    )
    assert decision.status_code == 200, decision.content


def test_a_generated_client_does_a_confirmed_transfer_and_reads_typed_error_details(okpay, live_stage, anonymous):
    challenge = api("identity.post_auth_login").sync(
        client=anonymous,
        body=model(okpay, "Login", {"login": AGENT_EMAIL, "password": AGENT_PASSWORD, "device_id": "journey"}),
    )
    assert type(challenge).__name__ == "MfaChallenge"  # the oneOf, parsed: agents sign in with TOTP
    answer = {"mfa_token": challenge.mfa_token, "method": "totp", "code": next_totp(AGENT_TOTP_SECRET)}
    login = api("identity.post_auth_mfa_verify").sync(client=anonymous, body=model(okpay, "MfaVerify", answer))
    agent = signed_in(okpay, live_stage, login.access_token)

    unique = uuid.uuid4().int
    payer = sign_up(okpay, live_stage, anonymous, f"+86139{unique % 10**8:08d}", f"payer{unique % 10**9}@example.com")
    payee = sign_up(okpay, live_stage, anonymous, f"+86137{unique % 10**8:08d}", f"payee{unique % 10**9}@example.com")
    verify(okpay, live_stage, payer, agent, level=2, sequence=f"{unique % 500 * 2 + 1:03d}")
    verify(okpay, live_stage, payee, agent, level=1, sequence=f"{unique % 500 * 2:03d}")
    payer_id, payer_client = payer
    payee_id, payee_client = payee

    card = api("wallet.post_me_funding_sources").sync(
        client=payer_client,
        body=model(
            okpay,
            "CardAdd",
            {"type": "bank_card", "card_number": GOOD_CARD, "holder_name": "张三", "password": PASSWORD},
        ),
    )
    topped = api("wallet.post_me_topups").sync_detailed(
        client=payer_client,
        idempotency_key=uuid.uuid4().hex,
        body=model(okpay, "TopUp", {"funding_source_id": card.funding_source_id, "amount": 500_000, "currency": "CNY"}),
    )
    assert topped.status_code == 201 and topped.parsed.amount == 500_000

    # 2,000 CNY is past the day's 1,000 CNY step-up budget: 202, waiting for the SMS code.
    transfer_body = {"recipient": {"user_id": payee_id}, "amount": 200_000, "currency": "CNY", "note": "房租"}
    waiting = api("transfers.post_transfers").sync_detailed(
        client=payer_client, idempotency_key=uuid.uuid4().hex, body=model(okpay, "TransferRequest", transfer_body)
    )
    assert waiting.status_code == 202
    assert waiting.parsed.status == "requires_confirmation"
    phone = f"+86139{unique % 10**8:08d}"
    confirmed = api("transfers.post_transfers_transfer_id_confirm").sync_detailed(
        client=payer_client,
        transfer_id=waiting.parsed.transfer_id,
        idempotency_key=uuid.uuid4().hex,
        body=model(okpay, "Confirm", {"code": last_code(okpay, anonymous, phone)}),
    )
    assert confirmed.status_code == 200
    assert confirmed.parsed.status == "completed" and confirmed.parsed.transaction_id

    # The payee (level 1: 1,000 CNY since opening) sends 1,500 CNY back: 422 limit_exceeded.
    back = {"recipient": {"user_id": payer_id}, "amount": 150_000, "currency": "CNY"}
    refused = api("transfers.post_transfers").sync_detailed(
        client=payee_client, idempotency_key=uuid.uuid4().hex, body=model(okpay, "TransferRequest", back)
    )
    assert refused.status_code == 422
    error = refused.parsed.error
    assert type(error).__name__ == "LimitExceededError"
    assert error.details.remaining.amount == 100_000
    assert str(error.details.remaining.currency) == "CNY"
    assert str(error.details.window) == "lifetime"
    wallet = api("wallet.get_me_wallet").sync(client=payee_client)
    assert {str(item.currency): item.available for item in wallet.balances}["CNY"] == 200_000
