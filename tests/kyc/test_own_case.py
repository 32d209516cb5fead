"""An agent never decides their own real-name verification (contract section 1, Agents): 403 own_case."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.store.kyc import KycRecord
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.kyc import resident_id, submit_kyc
from tests.helpers.support import agent_as_customer
from tests.helpers.users import make_user, signed_in


def decide(client, headers, user_id, **decision):
    return post_json(client, f"/admin/kyc/{user_id}/decision", decision, headers)


def decisions_of(user_id: str) -> list[KycRecord]:
    return [record for record in KycRecord.query(user_id) if record.record.startswith("decision#")]


@pytest.mark.parametrize(
    "decision",
    [
        {"decision": "approve", "level": 3},
        {"decision": "reject", "reason": "blurry"},
        {"decision": "request_documents", "reason": "need more", "documents": ["id_front"]},
    ],
)
def test_an_agent_cannot_decide_their_own_verification(client, agent, decision):
    _, colleague_headers = agent
    me, headers = agent_as_customer(client)
    submit_kyc(client, headers)
    before = body_of(client.get("/me/kyc", headers=headers))

    assert_error(decide(client, headers, me.user_id, **decision), 403, "own_case")

    assert body_of(client.get("/me/kyc", headers=headers)) == before
    assert before["status"] == "pending"
    assert body_of(client.get("/me", headers=headers))["kyc"] == {"status": "pending", "level": 0}
    assert decisions_of(me.user_id) == []
    queued = body_of(client.get("/admin/kyc?status=pending", headers=colleague_headers))["data"]
    assert [item["user_id"] for item in queued] == [me.user_id]
    # another agent decides it
    assert decide(client, colleague_headers, me.user_id, decision="approve", level=1).status_code == 200
    assert body_of(client.get("/me", headers=headers))["kyc"] == {"status": "approved", "level": 1}


def test_an_agent_still_decides_other_peoples_cases(client, seeded):
    me, headers = agent_as_customer(client)
    user = make_user()
    user_headers = signed_in(user)
    post_json(
        client,
        "/me/kyc",
        {"real_name": "李四", "id_type": "cn_resident_id", "id_number": resident_id(date(1990, 1, 1))},
        user_headers,
    )
    assert decide(client, headers, user.user_id, decision="approve", level=1).status_code == 200
    assert [d.agent_id for d in decisions_of(user.user_id)] == [me.user_id]


def test_own_case_comes_after_404_and_before_409(client, agent):
    _, colleague_headers = agent
    me, headers = agent_as_customer(client)
    # no case yet: 404, as for anyone's missing case
    assert_error(decide(client, headers, me.user_id, decision="approve"), 404, "not_found")
    submit_kyc(client, headers)
    assert decide(client, colleague_headers, me.user_id, decision="approve", level=1).status_code == 200
    # decided already: still own_case, not kyc_not_pending (who may act does not depend on the state)
    assert_error(decide(client, headers, me.user_id, decision="reject", reason="x"), 403, "own_case")
    assert_error(decide(client, colleague_headers, me.user_id, decision="reject", reason="x"), 409, "kyc_not_pending")
