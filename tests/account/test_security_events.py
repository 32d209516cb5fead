"""GET /me/security-events (contract v1.2, section 11): every event type the app writes, each on the path
that causes it, with the device's name and the request's IP where known; newest first, paginated;
kept 400 days (a TTL only security-log items of the audit table carry)."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.adapters import clock
from chalicelib.services.identity import agents
from chalicelib.store.audit import AuditEvent
from chalicelib.store.security_events import security_subject
from chalicelib.store.users import get_user
from tests.helpers.auth import register_user
from tests.helpers.codes import last_code
from tests.helpers.freezes import an_agent, unfreeze_as
from tests.helpers.http import assert_error, auth, body_of, post_json, put_json
from tests.helpers.mfa import forgot, reset
from tests.helpers.users import OTHER_PASSWORD, PASSWORD, signed_in

LOCAL_IP = "127.0.0.1"  # what the test client's API Gateway context says


def _login(client, phone, password=PASSWORD, device_id="pixel", device_name="Pixel 9"):
    body = {"login": phone, "password": password, "device_id": device_id, "device_name": device_name}
    return post_json(client, "/auth/login", body)


def _signed_in(client, phone, password=PASSWORD, **device):
    response = _login(client, phone, password, **device)
    assert response.status_code == 200, response.body
    return auth(body_of(response)["access_token"]), body_of(response)["session_id"]


def _events(client, headers, **query):
    items, cursor = [], None
    while True:
        params = "&".join(f"{k}={v}" for k, v in {**query, **({"cursor": cursor} if cursor else {})}.items())
        page = body_of(client.get(f"/me/security-events?{params}", headers=headers))
        items += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_the_log_lists_every_kind_of_event_with_the_device_and_ip(client, seeded):
    account = register_user(client)
    phone, email = account["phone"], account["email"]
    # Sign-ins: a failure, a new device, the second-factor failure.
    assert _login(client, phone, OTHER_PASSWORD).status_code == 401
    headers, _ = _signed_in(client, phone)
    spare, spare_id = _signed_in(client, phone, device_id="ipad", device_name="iPad Air")
    assert put_json(client, "/me/mfa", {"password": PASSWORD, "sms": True}, headers).status_code == 200
    challenge = body_of(_login(client, phone, device_id="pixel"))
    wrong = {"mfa_token": challenge["mfa_token"], "method": "sms", "code": "000000"}
    assert (
        post_json(client, "/auth/mfa/send", {"mfa_token": challenge["mfa_token"], "method": "sms"}).status_code == 202
    )
    assert post_json(client, "/auth/mfa/verify", wrong).status_code == 422
    # Security changes.
    change = {"current_password": PASSWORD, "new_password": OTHER_PASSWORD}
    assert post_json(client, "/me/password", change, headers).status_code == 204
    contact = {"channel": "email", "value": "changed.owner@example.com", "password": OTHER_PASSWORD}
    assert post_json(client, "/me/contacts/change", contact, headers).status_code == 202
    verify = {"channel": "email", "code": last_code("changed.owner@example.com")}
    assert post_json(client, "/me/contacts/verify", verify, headers).status_code == 200
    # Sessions the user ended.
    assert client.delete(f"/me/sessions/{spare_id}", headers=headers).status_code == 204
    assert_error(client.get("/me", headers=spare), 401, "unauthorized")
    assert client.delete("/me/sessions", headers=headers).status_code == 204
    # Freezing and lifting it, a role change (an operator's command), a reset.
    assert post_json(client, "/me/freeze", {"reason": "other"}, headers).status_code == 200
    _agent, agent_headers = an_agent()
    assert unfreeze_as(client, agent_headers, account["user_id"]).status_code == 200
    assert agents.set_role(account["user_id"], "agent") is True
    assert forgot(client, phone).status_code == 202
    assert reset(client, phone, last_code(phone), "Velvet-Harbor-Compass-61#").status_code == 204

    events = _events(client, signed_in(get_user(account["user_id"])))

    types = [event["type"] for event in events]
    expected = {
        "login",
        "login_failed",
        "new_device",
        "mfa_failed",
        "mfa_changed",
        "password_changed",
        "contact_changed",
        "session_revoked",
        "frozen",
        "unfrozen",
        "role_changed",
        "password_reset",
    }
    assert expected <= set(types), types
    by_type = {}
    for event in events:
        by_type.setdefault(event["type"], event)
    assert by_type["login_failed"]["device_name"] == "Pixel 9"
    assert {"Pixel 9", "iPad Air"} <= {e["device_name"] for e in events if e["type"] == "new_device"}
    assert by_type["mfa_failed"]["detail"] == "sms"
    revoked = [e for e in events if e["type"] == "session_revoked"]
    assert {e.get("detail") for e in revoked} >= {"one", "all_others"}
    assert any(e.get("device_name") == "iPad Air" for e in revoked)
    assert by_type["role_changed"]["detail"] == "user -> agent"
    for event in events:
        if event["type"] != "role_changed":  # an operator's command has no request
            assert event["ip"] == LOCAL_IP, event
    assert "ip" not in by_type["role_changed"]
    # Newest first.
    stamps = [clock.parse_instant(event["at"]) for event in events]
    assert stamps == sorted(stamps, reverse=True)
    assert types[0] == "password_reset" and types.index("role_changed") < types.index("unfrozen")
    assert email not in str(events) and PASSWORD not in str(events)


def test_pages_are_newest_first_and_a_foreign_cursor_is_400(client, seeded):
    account = register_user(client)
    for attempt in range(4):  # a 5th would lock the sign-in
        assert _login(client, account["phone"], OTHER_PASSWORD, device_name=f"try {attempt}").status_code == 401
    headers, _ = _signed_in(client, account["phone"])
    first = body_of(client.get("/me/security-events?limit=2", headers=headers))
    assert len(first["data"]) == 2 and first["next_cursor"]
    everything = _events(client, headers, limit=2)
    assert len(everything) == len({e["event_id"] for e in everything}) == 6  # 4 failures, a login, a new device
    assert everything[:2] == first["data"]
    assert [e["device_name"] for e in everything if e["type"] == "login_failed"] == [
        f"try {n}" for n in range(3, -1, -1)
    ]

    other = register_user(client)
    assert _login(client, other["phone"], OTHER_PASSWORD).status_code == 401
    assert _login(client, other["phone"], OTHER_PASSWORD).status_code == 401
    foreign = body_of(client.get("/me/security-events?limit=1", headers=auth(other["access_token"])))["next_cursor"]
    assert foreign
    response = client.get(f"/me/security-events?cursor={foreign}", headers=headers)
    assert_error(response, 400, "invalid_cursor", field="cursor")
    assert_error(client.get("/me/security-events?limit=0", headers=headers), 400, "validation_error")
    assert_error(client.get("/me/security-events"), 401, "unauthorized")


def test_security_events_expire_after_400_days_and_other_audit_items_never(client, seeded):
    account = register_user(client)
    headers, _ = _signed_in(client, account["phone"])
    assert post_json(client, "/me/freeze", {"reason": "other"}, headers).status_code == 200

    logged = list(AuditEvent.query(security_subject(account["user_id"])))
    assert logged
    for event in logged:
        kept = event.expires_ttl - clock.from_stamp(event.at)
        assert abs(kept - timedelta(days=400)) < timedelta(seconds=1)
    others = [e for e in AuditEvent.scan() if not e.subject.startswith("security#")]
    assert others and all(e.expires_ttl is None for e in others)
    assert get_user(account["user_id"]).status == "frozen"
