"""Agents' queue and decisions, notifications, resubmission, identity uniqueness, upgrades."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.adapters import outbox
from chalicelib.store.kyc import KycRecord
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.kyc import resident_id
from tests.helpers.users import make_user, signed_in


def submit(client, headers, number="11010519491231002X", **fields):
    payload = {"real_name": "张三", "id_type": "cn_resident_id", "id_number": number, **fields}
    response = post_json(client, "/me/kyc", payload, headers)
    return response


def decide(client, agent_headers, user_id, **decision):
    return post_json(client, f"/admin/kyc/{user_id}/decision", decision, agent_headers)


def test_queue_is_oldest_first_and_agents_only(client, agent):
    _, agent_headers = agent
    first = make_user()
    first_headers = signed_in(first)
    second = make_user()
    second_headers = signed_in(second)
    submit(client, first_headers, resident_id(date(1990, 1, 1)))
    submit(client, second_headers, resident_id(date(1991, 1, 1)))
    page = body_of(client.get("/admin/kyc?status=pending", headers=agent_headers))
    assert [item["user_id"] for item in page["data"]] == [first.user_id, second.user_id]
    assert page["data"][0]["real_name"] == "张三" and page["data"][0]["id_last4"]
    assert_error(client.get("/admin/kyc", headers=first_headers), 403, "forbidden")
    assert_error(decide(client, first_headers, second.user_id, decision="approve"), 403, "forbidden")
    assert_error(client.get("/admin/kyc"), 401, "unauthorized")


def test_queue_pages_with_a_cursor(client, agent):
    _, agent_headers = agent
    for year in range(1980, 1985):
        headers = signed_in(make_user())
        submit(client, headers, resident_id(date(year, 1, 1)))
    seen, cursor = [], None
    while True:
        path = "/admin/kyc?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = body_of(client.get(path, headers=agent_headers))
        seen += [item["user_id"] for item in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5
    assert_error(client.get("/admin/kyc?cursor=bogus", headers=agent_headers), 400, "invalid_cursor")


def test_approval_sets_the_level_and_tells_the_user_in_their_language(client, agent):
    _, agent_headers = agent
    user = make_user(locale="zh-CN")
    headers = signed_in(user)
    submit(client, headers)
    response = decide(client, agent_headers, user.user_id, decision="approve", level=1)
    assert response.status_code == 200
    assert body_of(client.get("/me", headers=headers))["kyc"] == {"status": "approved", "level": 1}
    (email,) = outbox.messages(user.email)
    assert email.subject == "Okpay 实名认证已通过"
    (sms,) = outbox.messages(user.phone)
    assert "1 级" in sms.body
    decisions = [r for r in KycRecord.query(user.user_id) if r.record.startswith("decision#")]
    assert [(d.decision, d.agent_id) for d in decisions] == [("approve", agent[0].user_id)]
    assert body_of(client.get("/admin/kyc", headers=agent_headers))["data"] == []


def test_reject_needs_a_reason_and_allows_resubmission(client, agent):
    _, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    submit(client, headers)
    assert_error(
        decide(client, agent_headers, user.user_id, decision="reject"), 400, "validation_error", field="reason"
    )
    assert_error(decide(client, agent_headers, user.user_id, decision="reject", reason="  "), 400, "validation_error")
    assert (
        decide(client, agent_headers, user.user_id, decision="reject", reason="Name does not match the ID").status_code
        == 200
    )
    state = body_of(client.get("/me/kyc", headers=headers))
    assert state["status"] == "rejected" and state["reason"] == "Name does not match the ID"
    assert "Name does not match the ID" in outbox.messages(user.phone)[0].body
    assert_error(decide(client, agent_headers, user.user_id, decision="approve"), 409, "kyc_not_pending")
    assert submit(client, headers).status_code == 202


def test_request_documents_lists_them_and_resubmission_follows(client, agent, monkeypatch):
    _, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    submit(client, headers)
    assert_error(
        decide(client, agent_headers, user.user_id, decision="request_documents", reason="blurry"),
        400,
        "validation_error",
    )
    response = decide(
        client,
        agent_headers,
        user.user_id,
        decision="request_documents",
        reason="Photo is blurry",
        documents=["id_front", "selfie"],
    )
    assert response.status_code == 200
    state = body_of(client.get("/me/kyc", headers=headers))
    assert state["status"] == "needs_documents" and state["required_documents"] == ["id_front", "selfie"]
    assert "front of the ID" in outbox.messages(user.email)[0].body
    assert submit(client, headers).status_code == 202


def test_decisions_on_unknown_users_are_404(client, agent):
    _, agent_headers = agent
    assert_error(decide(client, agent_headers, "usr_nobody", decision="approve"), 404, "not_found")


def test_the_same_identity_cannot_be_verified_on_two_accounts(client, agent):
    _, agent_headers = agent
    first = make_user()
    first_headers = signed_in(first)
    second = make_user()
    second_headers = signed_in(second)
    number = resident_id(date(1985, 6, 15))
    submit(client, first_headers, number)
    submit(client, second_headers, number)  # both pending: nobody verified yet
    decide(client, agent_headers, first.user_id, decision="approve", level=1)
    assert_error(decide(client, agent_headers, second.user_id, decision="approve", level=1), 409, "identity_in_use")
    third_headers = signed_in(make_user())
    assert_error(submit(client, third_headers, number), 409, "identity_in_use")


def test_an_approved_user_can_ask_for_a_higher_level_with_documents(client, agent, monkeypatch):
    from chalicelib.services.kyc import documents as kyc_documents

    _, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    submit(client, headers)
    decide(client, agent_headers, user.user_id, decision="approve", level=1)
    state = body_of(client.get("/me/kyc", headers=headers))
    assert state["next_level"] == 2 and state["required_documents"] == ["id_front", "id_back", "selfie"]
    error = assert_error(submit(client, headers, target_level=2), 400, "validation_error", field="document_ids")
    assert error["details"]["missing"] == ["id_front", "id_back", "selfie"]
    assert_error(submit(client, headers, target_level=1), 400, "validation_error", field="target_level")
    kinds = {"d1": "id_front", "d2": "id_back", "d3": "selfie"}
    monkeypatch.setattr(kyc_documents, "uploaded_kind", lambda user_id, doc: kinds.get(doc))
    assert submit(client, headers, target_level=2, document_ids=["d1", "d2", "d3"]).status_code == 202
    # The approved level keeps its rights while the upgrade waits.
    assert body_of(client.get("/me", headers=headers))["kyc"] == {"status": "pending", "level": 1}
    decide(client, agent_headers, user.user_id, decision="approve", level=2)
    assert body_of(client.get("/me", headers=headers))["kyc"] == {"status": "approved", "level": 2}


@pytest.mark.parametrize(
    "decision", [{"decision": "maybe"}, {"decision": "approve", "level": 5}, {"decision": "approve", "extra": 1}]
)
def test_bad_decisions_are_400(client, agent, decision):
    _, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    submit(client, headers)
    assert decide(client, agent_headers, user.user_id, **decision).status_code == 400
