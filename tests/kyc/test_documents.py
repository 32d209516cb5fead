"""Documents: a pre-signed POST that S3 (moto) accepts, 10 MB cap, only uploaded files count."""

from __future__ import annotations

import base64
import json

import boto3
import pytest
import requests

from chalicelib.store.kyc import get_document
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.users import make_user, signed_in

MB = 1024 * 1024


def passport_with(*document_ids):
    """A complete passport submission at level 1 with these documents."""
    return {
        "real_name": "Li Lei",
        "id_type": "passport",
        "id_number": "E12345678",
        "nationality": "CN",
        "birth_date": "1990-05-01",
        "document_ids": list(document_ids),
    }


def new_document(client, headers, kind="id_front", content_type="image/jpeg"):
    response = post_json(client, "/me/kyc/documents", {"kind": kind, "content_type": content_type}, headers)
    assert response.status_code == 201, response.body
    return body_of(response)


def upload(document, content: bytes, content_type="image/jpeg"):
    return requests.post(
        document["upload"]["url"],
        data=document["upload"]["fields"],
        files={"file": ("scan", content, content_type)},
        timeout=30,
    )


def test_the_presigned_post_is_accepted_by_s3_and_the_document_counts(client, stage):
    user = make_user()
    headers = signed_in(user)
    document = new_document(client, headers)
    assert document["expires_in"] == 900
    assert document["document_id"].startswith("doc_")
    assert upload(document, b"\xff\xd8 jpeg bytes").status_code in (200, 201, 204)
    key = get_document(user.user_id, document["document_id"]).s3_key
    stored = boto3.client("s3").get_object(Bucket=stage.kyc_bucket, Key=key)
    assert stored["Body"].read() == b"\xff\xd8 jpeg bytes"
    payload = passport_with(document["document_id"])
    assert post_json(client, "/me/kyc", payload, headers).status_code == 202


def test_the_upload_policy_pins_the_type_and_caps_the_size_at_10_mb(client, stage):
    headers = signed_in(make_user())
    document = new_document(client, headers, content_type="application/pdf")
    policy = json.loads(base64.b64decode(document["upload"]["fields"]["policy"]))
    assert ["content-length-range", 1, 10 * MB] in policy["conditions"]
    assert {"Content-Type": "application/pdf"} in policy["conditions"]


def test_a_file_over_10_mb_never_counts(client, stage):
    headers = signed_in(make_user())
    document = new_document(client, headers)
    # moto's S3 does not enforce POST policies; real S3 refuses the upload. Either way the
    # submission checks the stored size itself.
    upload(document, b"x" * (10 * MB + 1))
    payload = passport_with(document["document_id"])
    error = assert_error(post_json(client, "/me/kyc", payload, headers), 400, "validation_error", field="document_ids")
    assert error["details"] == {"missing": ["id_front"]}


def test_a_document_never_uploaded_or_of_another_user_does_not_count(client, stage):
    owner_headers = signed_in(make_user())
    other_headers = signed_in(make_user())
    document = new_document(client, owner_headers)
    upload(document, b"jpeg")
    payload = passport_with(document["document_id"])
    assert_error(post_json(client, "/me/kyc", payload, other_headers), 400, "validation_error", field="document_ids")
    never = new_document(client, owner_headers)
    assert_error(
        post_json(client, "/me/kyc", {**payload, "document_ids": [never["document_id"]]}, owner_headers),
        400,
        "validation_error",
    )


def test_agents_get_short_lived_download_links(client, agent):
    _, agent_headers = agent
    headers = signed_in(make_user())
    document = new_document(client, headers)
    upload(document, b"jpeg")
    payload = passport_with(document["document_id"])
    post_json(client, "/me/kyc", payload, headers)
    (item,) = body_of(client.get("/admin/kyc", headers=agent_headers))["data"]
    (link,) = item["documents"]
    assert link["kind"] == "id_front" and link["expires_in"] == 300
    assert requests.get(link["download_url"], timeout=30).content == b"jpeg"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "passport_scan", "content_type": "image/jpeg"},
        {"kind": "selfie", "content_type": "image/gif"},
        {"kind": "selfie"},
    ],
)
def test_only_the_contract_kinds_and_types(client, stage, body):
    headers = signed_in(make_user())
    assert_error(post_json(client, "/me/kyc/documents", body, headers), 400, "validation_error")
