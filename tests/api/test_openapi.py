"""The OpenAPI document covers every route the app serves, and replies match it."""

from __future__ import annotations

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_spec

import app as app_module
from chalicelib.api import areas
from chalicelib.api.routing import OPERATIONS
from chalicelib.errors import STATUS_BY_CODE
from chalicelib.store.kyc import KycRecord
from tests.helpers.http import body_of, post_json
from tests.helpers.users import make_user, signed_in
from tests.helpers.wallet import add_card, top_up


@pytest.fixture
def document(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return body_of(response)


def served_routes():
    return {(method, path) for path, methods in app_module.app.routes.items() for method in methods}


def test_every_served_route_is_declared_through_operation():
    areas.load_all(local=True)
    declared = {(op.method, op.path) for op in OPERATIONS}
    assert served_routes() == declared, "a route was registered without @operation, so it has no OpenAPI entry"


def test_the_document_has_an_entry_for_every_served_route(document):
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert served_routes() <= documented
    assert documented <= served_routes()


def test_the_document_is_valid_openapi(document):
    validate_spec(document)


def test_every_error_code_is_documented_with_its_status(document):
    codes = document["x-error-codes"]
    assert {code: entry["status"] for code, entry in codes.items()} == STATUS_BY_CODE
    assert codes["limit_exceeded"]["details"]["$ref"].endswith("/LimitExceededDetails")


def test_request_bodies_are_documented_strict(document):
    clock_body = document["paths"]["/_local/clock"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    schema = document["components"]["schemas"][clock_body["$ref"].rsplit("/", 1)[1]]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["now"]


def conforms(document, path, method, response):
    spec = document["paths"][path][method]["responses"][str(response.status_code)]
    schema = spec["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": document["components"]})
    validator.validate(body_of(response))


@pytest.mark.parametrize(
    "path", ["/health", "/support/contact", "/merchants", "/fx/rates", "/_local/outbox", "/_local/clock"]
)
def test_replies_match_their_documented_schema(client, seeded, document, path):
    conforms(document, path, "get", client.get(path))


def test_errors_match_the_documented_envelope(client, document):
    response = client.get("/fx/rates")  # nothing seeded: 503
    conforms(document, "/fx/rates", "get", response)
    assert "Retry-After" in document["paths"]["/fx/rates"]["get"]["responses"]["503"]["headers"]


def test_a_transfer_waiting_for_its_code_is_a_documented_202(client, seeded, document):
    """Generated clients accept only the statuses the document lists (issue 12, item 1)."""
    payer, payee = make_user(), make_user()
    for user in (payer, payee):
        KycRecord(user.user_id, "current", status="approved", level=2, approved_real_name="张三").save()
    headers = signed_in(payer)
    assert top_up(client, headers, add_card(client, headers), 500_000).status_code == 201
    body = {"recipient": {"user_id": payee.user_id}, "amount": 200_000, "currency": "CNY"}  # ≥ 1,000 CNY
    response = post_json(client, "/transfers", body, {**headers, "Idempotency-Key": "wait"})
    assert response.status_code == 202 and body_of(response)["status"] == "requires_confirmation"
    conforms(document, "/transfers", "post", response)
    assert document["info"]["version"] == "1.2"
