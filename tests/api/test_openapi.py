"""The OpenAPI document covers every route the app serves, and replies match it."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate as validate_spec

import app as app_module
from chalicelib.api import areas, openapi
from chalicelib.api.routing import OPERATIONS
from chalicelib.errors import STATUS_BY_CODE
from chalicelib.store.kyc import KycRecord
from tests.helpers.contract import check
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


def test_request_bodies_are_documented_strict(document):
    clock_body = document["paths"]["/_local/clock"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    schema = document["components"]["schemas"][clock_body["$ref"].rsplit("/", 1)[1]]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["now"]


def conforms(document, path, method, response):
    check(True, method, path, response.status_code, response.body)


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


# --- rules that hold for every operation, so routes added later get them by construction -------


def operations_of(document):
    for path, item in document["paths"].items():
        for method, entry in item.items():
            yield path, method, entry


def walk(node, pointer=""):
    """Every (pointer, dict) in the document."""
    if isinstance(node, dict):
        yield pointer, node
        for key, value in node.items():
            yield from walk(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{pointer}/{index}")


def test_every_operation_is_described_in_its_own_words(document):
    undescribed = [
        f"{method.upper()} {path}"
        for path, method, entry in operations_of(document)
        if not entry.get("description") or entry["description"] == entry["summary"]
    ]
    assert undescribed == []
    assert all(tag.get("description") for tag in document["tags"])
    assert document["info"]["contact"]["email"] and document["info"]["license"]["url"]


def test_every_request_and_success_body_has_an_example(document):
    missing = []
    for path, method, entry in operations_of(document):
        media = entry.get("requestBody", {}).get("content", {}).get("application/json")
        if media is not None and "example" not in media:
            missing.append(f"{method.upper()} {path} request")
        for status, response in entry["responses"].items():
            media = response.get("content", {}).get("application/json")
            if media is not None and "example" not in media:
                missing.append(f"{method.upper()} {path} {status}")
    assert missing == []


def test_no_field_defaults_to_null(document):
    """Generators read `"default": null` as "always present"; an absent optional field is absent."""
    assert [pointer for pointer, node in walk(document) if "default" in node and node["default"] is None] == []


def test_no_success_body_is_an_untyped_object(document):
    untyped = [
        f"{method.upper()} {path} {status}"
        for path, method, entry in operations_of(document)
        for status, response in entry["responses"].items()
        if response.get("content", {}).get("application/json", {}).get("schema") == {"type": "object"}
    ]
    assert untyped == []
    objects = [
        pointer
        for pointer, node in walk(document["components"]["schemas"])
        if node.get("type") == "object" and node.get("additionalProperties") is True and "properties" not in node
    ]
    assert objects == [], "an open dict where the shape is known"


def test_timestamps_and_currencies_are_one_schema_each(document):
    schemas = document["components"]["schemas"]
    assert schemas["Timestamp"] == {
        "type": "string",
        "format": "date-time",
        "description": "ISO 8601 date and time with offset (RFC 3339).",
        "examples": ["2026-11-24T09:30:00+08:00"],
    }
    assert schemas["Currency"]["enum"] == ["CNY", "HKD", "USD", "EUR", "JPY"]
    copies = [
        pointer
        for pointer, node in walk(document)
        if node.get("enum") == schemas["Currency"]["enum"] and node is not schemas["Currency"]
    ]
    assert copies == []
    timestamp = {"$ref": "#/components/schemas/Timestamp"}
    untyped = []
    for pointer, node in walk(document):
        for name, prop in (node.get("properties") or {}).items():
            named_as_time = name.endswith(("_at", "_due")) or name in {"resolve_by", "as_of", "now"}
            refs = [prop, *prop.get("anyOf", [])]
            if named_as_time and not any(ref.get("$ref") == timestamp["$ref"] for ref in refs):
                untyped.append(f"{pointer}/properties/{name}")
    assert untyped == []


def test_public_operations_need_no_token_and_the_others_a_bearer_token(document):
    assert document["security"] == [{"bearer": []}]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    areas.load_all(local=True)
    public = {(op.method.lower(), op.path) for op in OPERATIONS if op.auth == "public"}
    merchant = {(op.method.lower(), op.path) for op in OPERATIONS if op.auth == "merchant"}
    assert merchant and all(path.startswith("/merchant/") for _, path in merchant)
    for path, method, entry in operations_of(document):
        if (method, path) in public:
            assert entry["security"] == [], path
            assert "unauthorized" not in error_codes_of(entry, "401"), path
        elif (method, path) in merchant:  # a merchant's secret key, its own scheme
            assert entry["security"] == [{"merchantKey": []}], path
            assert "unauthorized" in error_codes_of(entry, "401"), path
        else:
            assert "security" not in entry, path  # the document's default: bearer
            assert "unauthorized" in error_codes_of(entry, "401"), path


def test_every_operation_takes_accept_language_and_lists_the_gateway_answers(document):
    for path, method, entry in operations_of(document):
        assert {"$ref": "#/components/parameters/AcceptLanguage"} in entry["parameters"]
        for status, code in (("429", "rate_limited"), ("500", "internal_error"), ("503", "try_again")):
            assert code in error_codes_of(entry, status), f"{method} {path} {status}"
        if "requestBody" in entry:
            assert error_codes_of(entry, "413") == ["payload_too_large"]
            assert error_codes_of(entry, "415") == ["unsupported_media_type"]
        assert "Retry-After" in entry["responses"]["503"]["headers"]


def document_schemas(ref):
    return openapi.document(local=True)["components"]["schemas"][ref.rsplit("/", 1)[1]]


def error_codes_of(entry, status):
    """The codes an error response's schema allows, read from the schema itself."""
    response = entry["responses"].get(status)
    if response is None:
        return []
    schema = response["content"]["application/json"]["schema"]
    if "$ref" in schema:  # one code: a shared envelope
        schema = document_schemas(schema["$ref"])
    error = schema["properties"]["error"]
    names = {choice["$ref"].rsplit("/", 1)[1] for choice in error.get("oneOf", [error])}
    return sorted(code for code in STATUS_BY_CODE if openapi.error_schema_name(code) in names)


def test_errors_are_typed_per_status_with_details_by_code(document):
    """`error` is a union told apart by `code`; each member's `code` is its one value and its
    `details` have their own schema (issue 12, item 2)."""
    schemas = document["components"]["schemas"]
    responses = document["paths"]["/transfers"]["post"]["responses"]
    error = responses["422"]["content"]["application/json"]["schema"]["properties"]["error"]
    mapping = error["discriminator"]["mapping"]
    assert error["discriminator"]["propertyName"] == "code"
    assert {"insufficient_funds", "limit_exceeded", "self_transfer", "idempotency_key_reused"} <= set(mapping)
    assert sorted(choice["$ref"] for choice in error["oneOf"]) == sorted(mapping.values())
    limit = schemas["LimitExceededError"]
    assert limit["properties"]["code"] == {"type": "string", "enum": ["limit_exceeded"]}
    assert limit["properties"]["details"] == {"$ref": "#/components/schemas/LimitExceededDetails"}
    assert "details" in limit["required"]
    assert schemas["LimitExceededDetails"]["required"] == ["remaining", "window", "resets_at"]
    for code, status in STATUS_BY_CODE.items():
        name = openapi.error_schema_name(code)
        if name in schemas:
            assert schemas[name]["properties"]["code"]["enum"] == [code]
            assert str(status) in schemas[name]["description"]


def test_a_retry_answer_carries_retry_after_in_details_too(client):
    """Generated clients read `details.retry_after` as API Gateway's own 429/503 send it."""
    response = client.get("/fx/rates")  # nothing seeded: 503 try_again, Retry-After: 60
    assert response.status_code == 503
    assert body_of(response)["error"]["details"] == {"retry_after": 60}
    assert response.headers["Retry-After"] == "60"


def test_servers_name_the_stage_path(document):
    assert document["servers"][0]["url"] == "/"  # the local stage has no stage path
    deployed = openapi.document(local=False)
    assert deployed["servers"][0]["url"] == "/api"
    assert deployed["servers"][1]["url"].endswith(".amazonaws.com/api")


def test_the_documented_stage_path_is_the_deployed_one():
    import json

    from tests.helpers.paths import PROJECT_DIR

    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    for stage in ("dev", "prod"):
        stage_name = config["stages"][stage].get("api_gateway_stage", config.get("api_gateway_stage", "api"))
        assert f"/{stage_name}" == openapi.document(local=False)["servers"][0]["url"]
