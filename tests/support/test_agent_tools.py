"""The agents' customer tools (contract v1.2, section 9): exact lookup, the customer panel, the customer's
history as they see it, and one user's KYC case with working document links."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from chalicelib.adapters import clock
from chalicelib.store.users import Claim, User, email_claim, phone_claim
from tests.helpers.auth import login
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.support import customer
from tests.helpers.users import make_user, signed_in
from tests.helpers.wallet import TRAVEL, pay
from tests.kyc.test_documents import new_document, passport_with, upload
from tests.support.test_disputes import opened
from tests.support.test_tickets import new_ticket

WRONG_PASSWORD = "Wrong-Horse-Battery-88!"


def claimed(user: User) -> User:
    """Claim the user's phone and (when verified) email, as registration and verification do."""
    claims = [phone_claim(user.phone)] + ([email_claim(user.email)] if user.email_verified else [])
    for claim in claims:
        Claim(claim, user_id=user.user_id, created_at=user.created_at).save()
    return user


def search(client, headers, **query):
    text = "&".join(f"{name}={quote(value, safe='')}" for name, value in query.items())
    return client.get(f"/admin/users?{text}", headers=headers)


def found(client, headers, **query) -> list[str]:
    response = search(client, headers, **query)
    assert response.status_code == 200, response.body
    return [row["user_id"] for row in body_of(response)["data"]]


def panel(client, headers, user_id: str) -> dict:
    response = client.get(f"/admin/users/{user_id}", headers=headers)
    assert response.status_code == 200, response.body
    return body_of(response)


# --- finding a customer ----------------------------------------------------------------------------


def test_a_customer_is_found_by_exact_phone_email_or_id(client, seeded, agent):
    _, headers = agent
    user = claimed(make_user())
    national = user.phone.removeprefix("+86")
    assert found(client, headers, phone=user.phone) == [user.user_id]
    assert found(client, headers, phone=national) == [user.user_id]  # without +: a +86 number
    assert found(client, headers, email=user.email.upper()) == [user.user_id]
    assert found(client, headers, user_id=user.user_id) == [user.user_id]
    (row,) = body_of(search(client, headers, user_id=user.user_id))["data"]
    assert row == {
        "user_id": user.user_id,
        "display_name": None,
        "phone": user.phone,
        "email": user.email,
        "kyc": {"status": "unverified", "level": 0},
        "status": "active",
        "created_at": clock.isoformat(clock.from_stamp(user.created_at)),
    }


def test_nobody_found_is_an_empty_list_not_404(client, seeded, agent):
    _, headers = agent
    claimed(make_user())
    assert found(client, headers, phone="+8613999999999") == []
    assert found(client, headers, email="nobody@example.com") == []
    assert found(client, headers, user_id="usr_" + "0" * 32) == []
    assert found(client, headers, user_id="not-a-user-id") == []


def test_an_unverified_email_is_not_claimed_so_not_found(client, seeded, agent):
    _, headers = agent
    user = claimed(make_user(email_verified=False))
    assert found(client, headers, email=user.email) == []
    assert found(client, headers, phone=user.phone) == [user.user_id]


def test_a_frozen_or_closed_account_shows_its_status(client, seeded, agent):
    _, headers = agent
    user = claimed(make_user())
    user.update(actions=[User.status.set("frozen")])
    (row,) = body_of(search(client, headers, phone=user.phone))["data"]
    assert row["status"] == "frozen"
    user.update(actions=[User.status.set("closed")])
    (row,) = body_of(search(client, headers, user_id=user.user_id))["data"]
    assert row["status"] == "closed"


@pytest.mark.parametrize(
    "query",
    ["", "?phone=%2B8613600000001&email=a%40example.com", "?user_id=usr_x&phone=13600000001", "?limit=5"],
)
def test_exactly_one_search_field_or_400(client, seeded, agent, query):
    _, headers = agent
    assert_error(client.get(f"/admin/users{query}", headers=headers), 400, "validation_error")


def test_a_malformed_phone_is_400_on_phone(client, seeded, agent):
    _, headers = agent
    assert_error(search(client, headers, phone="12"), 400, "validation_error", field="phone")


def test_customers_and_agents_without_totp_are_refused(client, seeded):
    user = claimed(make_user())
    paths = [
        "/admin/users?user_id=" + user.user_id,
        f"/admin/users/{user.user_id}",
        f"/admin/users/{user.user_id}/transactions",
    ]
    for path in paths:
        assert_error(client.get(path, headers=signed_in(user)), 403, "forbidden")
        no_totp = make_user(role="agent", agent_totp=False)
        assert_error(client.get(path, headers=signed_in(no_totp)), 403, "mfa_required")
        assert_error(client.get(path), 401, "unauthorized")
    assert_error(client.get(f"/admin/kyc/{user.user_id}", headers=signed_in(user)), 403, "forbidden")


# --- the customer panel ----------------------------------------------------------------------------


def test_the_panel_is_the_profile_with_wallet_open_cases_and_no_freeze(client, seeded, agent):
    _, headers = agent
    user, user_headers = customer(client, amount=100_000)
    dispute = opened(client, user_headers, pay(client, user_headers, 5_000))
    ticket = new_ticket(client, user_headers)
    chat = post_json(client, "/support/chats", {"body": "Where is my refund?"}, user_headers)
    assert chat.status_code == 201, chat.body
    view = panel(client, headers, user.user_id)
    me = body_of(client.get("/me", headers=user_headers))
    wallet = body_of(client.get("/me/wallet", headers=user_headers))
    assert {key: view[key] for key in me} == me  # the profile exactly as GET /me shows it
    assert view["status"] == "active" and "freeze" not in view
    assert view["balances"] == wallet["balances"] and view["limits"] == wallet["limits"]
    assert {"currency": "CNY", "available": 95_000} in view["balances"]
    assert view["kyc"] == {"status": "approved", "level": 2}
    assert view["open_cases"]["disputes"] == [dispute["dispute_id"]]
    assert view["open_cases"]["tickets"] == [ticket["ticket_id"]]
    assert view["open_cases"]["chats"] == [body_of(chat)["chat_id"]]


def test_closed_cases_are_not_open(client, seeded, agent):
    _, headers = agent
    user, user_headers = customer(client, amount=100_000)
    dispute = opened(client, user_headers, pay(client, user_headers, 5_000))
    post_json(client, f"/disputes/{dispute['dispute_id']}/withdraw", {}, user_headers)
    ticket = new_ticket(client, user_headers)
    post_json(client, f"/admin/tickets/{ticket['ticket_id']}/status", {"status": "solved"}, headers)
    assert panel(client, headers, user.user_id)["open_cases"] == {"disputes": [], "tickets": [], "chats": []}


def test_a_frozen_account_shows_who_froze_it_when_and_why(client, seeded, agent):
    agent_user, headers = agent
    user = make_user()
    frozen_at = clock.now()
    user.update(
        actions=[
            User.status.set("frozen"),
            User.freeze_reason.set("客户来电称手机丢失"),
            User.frozen_at.set(clock.stamp(frozen_at)),
            User.frozen_by.set("agent"),
            User.frozen_by_agent.set(agent_user.user_id),
        ]
    )
    view = panel(client, headers, user.user_id)
    assert view["status"] == "frozen"
    assert view["freeze"] == {"reason": "客户来电称手机丢失", "at": clock.isoformat(frozen_at), "by": "agent"}


def test_the_panel_shows_the_last_20_security_events_newest_first(client, seeded, agent):
    _, headers = agent
    user = claimed(make_user())
    assert login(client, user.phone, WRONG_PASSWORD, device_name="Pixel 8").status_code == 401
    assert login(client, user.phone, device_id="phone-1", device_name="Pixel 8").status_code == 200
    events = panel(client, headers, user.user_id)["security_events"]
    # newest first; the sign-in and its new device share one instant
    assert {e["type"] for e in events[:2]} == {"new_device", "login"} and events[2]["type"] == "login_failed"
    assert all(e["device_name"] == "Pixel 8" for e in events)
    assert len({e["event_id"] for e in events}) == 3
    for _ in range(18):
        login(client, user.phone, device_id="phone-1", device_name="Pixel 8")
    events = panel(client, headers, user.user_id)["security_events"]
    assert len(events) == 20
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)
    assert events[0]["type"] == "login"


def test_an_unknown_customer_is_404(client, seeded, agent):
    _, headers = agent
    for user_id in ("usr_" + "0" * 32, "nobody"):
        assert_error(client.get(f"/admin/users/{user_id}", headers=headers), 404, "not_found")
        assert_error(client.get(f"/admin/users/{user_id}/transactions", headers=headers), 404, "not_found")


# --- the customer's history ------------------------------------------------------------------------


def walk(client, headers, path: str, limit: int = 2) -> list[dict]:
    seen, cursor = [], None
    for _ in range(50):
        separator = "&" if "?" in path else "?"
        suffix = f"&cursor={cursor}" if cursor else ""
        response = client.get(f"{path}{separator}limit={limit}{suffix}", headers=headers)
        assert response.status_code == 200, response.body
        page = body_of(response)
        assert len(page["data"]) <= limit
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the list does not end")


def test_the_history_is_what_the_customer_sees_paged_and_filtered(client, seeded, agent):
    _, headers = agent
    user, user_headers = customer(client, amount=100_000)
    start = clock.now()
    for minutes, amount in enumerate((1_000, 2_000, 3_000), start=1):
        clock.set_test_clock(start + timedelta(minutes=minutes))  # one payment a minute
        pay(client, user_headers, amount)
    mine = walk(client, user_headers, "/me/transactions")
    theirs = walk(client, headers, f"/admin/users/{user.user_id}/transactions")
    assert theirs == mine and len(theirs) == 4
    assert [item["type"] for item in theirs] == ["payment", "payment", "payment", "topup"]
    payments = walk(client, headers, f"/admin/users/{user.user_id}/transactions?type=payment", limit=1)
    assert [item["amount"] for item in payments] == [3_000, 2_000, 1_000]
    assert walk(client, headers, f"/admin/users/{user.user_id}/transactions?currency=USD") == []
    later = quote(theirs[0]["created_at"], safe="")
    assert walk(client, headers, f"/admin/users/{user.user_id}/transactions?from={later}") == [theirs[0]]
    assert walk(client, headers, f"/admin/users/{user.user_id}/transactions?to={later}") == theirs[1:]


def test_a_history_cursor_belongs_to_its_customer_and_filters(client, seeded, agent):
    _, headers = agent
    user, user_headers = customer(client, amount=100_000)
    other, _ = customer(client, amount=100_000)
    pay(client, user_headers, 1_000)
    page = body_of(client.get(f"/admin/users/{user.user_id}/transactions?limit=1", headers=headers))
    cursor = page["next_cursor"]
    assert cursor
    response = client.get(f"/admin/users/{other.user_id}/transactions?limit=1&cursor={cursor}", headers=headers)
    assert_error(response, 400, "invalid_cursor")
    response = client.get(f"/admin/users/{user.user_id}/transactions?type=topup&cursor={cursor}", headers=headers)
    assert_error(response, 400, "invalid_cursor")
    # the user's own cursor is for their own list only
    own = body_of(client.get("/me/transactions?limit=1", headers=user_headers))["next_cursor"]
    response = client.get(f"/admin/users/{user.user_id}/transactions?limit=1&cursor={own}", headers=headers)
    assert_error(response, 400, "invalid_cursor")
    assert_error(
        client.get(f"/admin/users/{user.user_id}/transactions?type=gift", headers=headers), 400, "validation_error"
    )


def test_a_usd_history(client, seeded, agent):
    _, headers = agent
    user, user_headers = customer(client, amount=10_000, currency="USD")
    pay(client, user_headers, 500, "USD", TRAVEL)
    items = walk(client, headers, f"/admin/users/{user.user_id}/transactions?currency=USD")
    assert [(i["type"], i["amount"], i["currency"]) for i in items] == [
        ("payment", 500, "USD"),
        ("topup", 10_000, "USD"),
    ]


# --- one KYC case ------------------------------------------------------------------------------------


def test_the_kyc_case_with_its_decisions_and_working_document_links(client, seeded, agent):
    agent_user, headers = agent
    user = make_user()
    user_headers = signed_in(user)
    assert_error(client.get(f"/admin/kyc/{user.user_id}", headers=headers), 404, "not_found")
    document = new_document(client, user_headers)
    content = b"\xff\xd8 passport scan " + uuid.uuid4().bytes
    upload(document, content)
    assert post_json(client, "/me/kyc", passport_with(document["document_id"]), user_headers).status_code == 202
    decision = {"decision": "request_documents", "reason": "照片模糊", "documents": ["id_front"]}
    response = post_json(client, f"/admin/kyc/{user.user_id}/decision", decision, headers)
    assert response.status_code == 200, response.body

    response = client.get(f"/admin/kyc/{user.user_id}", headers=headers)
    assert response.status_code == 200, response.body
    case = body_of(response)
    assert "E12345678" not in response.body.decode()  # the ID number is never whole
    assert (case["status"], case["id_type"], case["id_last4"]) == ("needs_documents", "passport", "5678")
    assert case["real_name"] == "Li Lei" and case["reason"] == "照片模糊"
    assert case["required_documents"] == ["id_front"]
    (entry,) = case["decisions"]
    assert (entry["decision"], entry["agent_id"], entry["reason"]) == (
        "request_documents",
        agent_user.user_id,
        "照片模糊",
    )
    (link,) = case["documents"]
    assert (link["document_id"], link["kind"], link["expires_in"]) == (document["document_id"], "id_front", 300)
    signed = parse_qs(urlsplit(link["download_url"]).query)
    if "X-Amz-Expires" in signed:  # SigV4
        assert signed["X-Amz-Expires"] == ["300"]
    else:  # SigV2: an absolute expiry, in real time
        assert 0 < int(signed["Expires"][0]) - time.time() <= 300 + 5
    assert requests.get(link["download_url"], timeout=30).content == content


def test_kyc_case_of_an_unknown_user_is_404(client, seeded, agent):
    _, headers = agent
    assert_error(client.get("/admin/kyc/usr_" + "0" * 32, headers=headers), 404, "not_found")
    assert_error(client.get("/admin/kyc/nobody", headers=headers), 404, "not_found")
