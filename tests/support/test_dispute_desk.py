"""Disputes (申诉), contract section 6, as the support console uses them: the queue, assign, reply,
extend and resolve, and what the user notices: their wallet, their history, their emails.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from chalicelib.adapters import clock, outbox
from chalicelib.errors import OkpayError
from chalicelib.services.identity import agents
from chalicelib.services.support import dispute_desk
from chalicelib.store.users import User
from chalicelib.store.wallet import LedgerEntry, TransactionRecord
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.support import customer
from tests.helpers.users import AGENT_TOTP_SECRET, signed_in
from tests.helpers.wallet import TRAVEL, balances, pay
from tests.support.test_disputes import (
    SHANGHAI,
    agent_post,
    agent_reply,
    at,
    emails,
    mentioning,
    opened,
    read,
    resolve,
    resolved,
)
from tests.wallet.test_payments import assert_balanced

# A week without public holidays: filed before 17:30 on Monday → respond_by Thursday, and so on.
MON = datetime(2025, 11, 3, 10, 0, tzinfo=SHANGHAI)
TUE, WED, THU, FRI = (MON + timedelta(days=n) for n in range(1, 5))


def second_agent() -> tuple[User, dict[str, str]]:
    agent_id, _ = agents.create_agent("agent.two@okpay.local", "Second-Agent-Pass-2026!", totp_secret=AGENT_TOTP_SECRET)
    user = User.get(agent_id)
    return user, signed_in(user)


def filed_at(client, moment: datetime, amount: int = 5_000, **kwargs) -> tuple[User, dict, dict]:
    """A new customer who pays and files at `moment` (the test clock then runs on from there)."""
    at(moment)
    user, headers = customer(client, **kwargs)
    return user, headers, opened(client, headers, pay(client, headers, amount))


def queue(client, headers, query: str = "") -> dict:
    response = client.get(f"/admin/disputes{query}", headers=headers)
    assert response.status_code == 200, response.body
    return body_of(response)


def walk(client, headers, query: str, limit: int = 1) -> list[dict]:
    """Every item of the agents' queue, following next_cursor."""
    seen: list[dict] = []
    cursor = None
    for _ in range(50):
        suffix = f"&cursor={cursor}" if cursor else ""
        page = queue(client, headers, f"?limit={limit}{query}{suffix}")
        assert len(page["data"]) <= limit
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the queue does not end")


def details(client, headers, dispute_id: str) -> dict:
    response = client.get(f"/admin/disputes/{dispute_id}", headers=headers)
    assert response.status_code == 200, response.body
    return body_of(response)


def ids(items: list[dict]) -> list[str]:
    return [item["dispute_id"] for item in items]


def refund_entries(user_id: str) -> list[LedgerEntry]:
    return [entry for entry in LedgerEntry.query(f"user#{user_id}") if entry.type == "refund"]


# --- 13. the queue ------------------------------------------------------------------------------------------


def test_the_queue_is_active_disputes_oldest_respond_by_first_with_a_status_filter(client, seeded, agent):
    agent_user, _ = agent
    *_, wed = filed_at(client, WED)
    *_, mon = filed_at(client, MON)
    *_, tue = filed_at(client, TUE)
    thu_user, _, thu = filed_at(client, THU)
    _, _, gone = filed_at(client, THU)
    at(THU + timedelta(hours=1))
    headers = signed_in(agent_user)
    agent_reply(client, headers, mon["dispute_id"])
    resolved(client, headers, thu["dispute_id"], "rejected")
    resolved(client, headers, gone["dispute_id"])
    assert [mon["respond_by"], tue["respond_by"], wed["respond_by"]] == [
        "2025-11-06T23:59:59+08:00",
        "2025-11-07T23:59:59+08:00",
        "2025-11-10T23:59:59+08:00",
    ]
    listed = queue(client, headers)
    assert ids(listed["data"]) == [mon["dispute_id"], tue["dispute_id"], wed["dispute_id"]]
    assert [d["status"] for d in listed["data"]] == ["under_review", "open", "open"]
    assert listed["next_cursor"] is None
    first = listed["data"][0]
    assert first["transaction_type"] == "payment" and first["user_id"].startswith("usr_")
    assert ids(queue(client, headers, "?status=open")["data"]) == [tue["dispute_id"], wed["dispute_id"]]
    assert ids(queue(client, headers, "?status=under_review")["data"]) == [mon["dispute_id"]]
    assert ids(queue(client, headers, "?status=rejected")["data"]) == [thu["dispute_id"]]
    assert ids(queue(client, headers, "?status=refunded")["data"]) == [gone["dispute_id"]]
    assert_error(client.get("/admin/disputes?status=closed", headers=headers), 400, "validation_error")
    assert body_of(read(client, signed_in(thu_user), thu["dispute_id"]))["status"] == "rejected"


def test_overdue_is_open_disputes_past_respond_by(client, seeded, agent):
    agent_user, _ = agent
    *_, late = filed_at(client, MON)  # respond_by Thu 23:59:59
    *_, answered = filed_at(client, MON)
    *_, fresh = filed_at(client, THU)  # respond_by next Tuesday
    headers = signed_in(agent_user)
    agent_reply(client, headers, answered["dispute_id"])
    at(datetime(2025, 11, 6, 23, 59, 0, tzinfo=SHANGHAI))  # a minute before the deadline
    headers = signed_in(agent_user)
    assert queue(client, headers, "?overdue=true")["data"] == []
    at(FRI)
    headers = signed_in(agent_user)
    overdue = queue(client, headers, "?overdue=true")
    assert ids(overdue["data"]) == [late["dispute_id"]]
    assert overdue["data"][0]["overdue"] is True and overdue["data"][0]["status"] == "open"
    flags = {d["dispute_id"]: d["overdue"] for d in queue(client, headers)["data"]}
    assert flags == {late["dispute_id"]: True, answered["dispute_id"]: False, fresh["dispute_id"]: False}
    assert ids(queue(client, headers, "?overdue=true&status=open")["data"]) == [late["dispute_id"]]
    assert queue(client, headers, "?overdue=true&status=under_review")["data"] == []
    assert ids(queue(client, headers, "?overdue=false")["data"]) == ids(queue(client, headers)["data"])


def test_an_unanswered_dispute_past_respond_by_is_escalated_by_the_sla_job(client, seeded, agent):
    agent_user, _ = agent
    user, _, late = filed_at(client, MON)
    *_, answered = filed_at(client, MON)
    agent_reply(client, signed_in(agent_user), answered["dispute_id"])
    at(FRI)
    response = post_json(client, "/_local/jobs/dispute_sla", {})
    assert response.status_code == 200, response.body
    mine = body_of(read(client, signed_in(user), late["dispute_id"]))
    assert (mine["status"], mine["escalated"]) == ("open", True)
    headers = signed_in(agent_user)
    assert details(client, headers, answered["dispute_id"])["escalated"] is False
    assert ids(queue(client, headers, "?overdue=true")["data"]) == [late["dispute_id"]]
    assert len(mentioning(emails(user.email), late["dispute_id"], "escalated")) == 1
    post_json(client, "/_local/jobs/dispute_sla", {})
    assert len(mentioning(emails(user.email), late["dispute_id"], "escalated")) == 1  # told once


def test_the_assignee_filter(client, seeded, agent):
    agent_user, headers = agent
    other, _ = second_agent()
    _, _, first = filed_at(client, MON)
    _, _, second = filed_at(client, TUE)
    _, _, nobodys = filed_at(client, WED)
    headers = signed_in(agent_user)
    agent_post(client, headers, f"/admin/disputes/{first['dispute_id']}/assign")
    agent_post(client, headers, f"/admin/disputes/{second['dispute_id']}/assign", {"agent_id": other.user_id})
    assert ids(queue(client, headers, f"?assignee={agent_user.user_id}")["data"]) == [first["dispute_id"]]
    assert ids(walk(client, headers, f"&assignee={other.user_id}")) == [second["dispute_id"]]
    assert ids(queue(client, headers)["data"]) == [first["dispute_id"], second["dispute_id"], nobodys["dispute_id"]]


def test_paging_one_at_a_time_visits_every_active_dispute_once_in_order(client, seeded, agent):
    agent_user, _ = agent
    # several disputes share a respond_by (the same day), in both statuses
    plan = [(MON, True), (MON, False), (MON, False), (TUE, True), (TUE, False), (WED, False), (WED, True)]
    filed = [(filed_at(client, moment)[2], reply) for moment, reply in plan]
    headers = signed_in(agent_user)
    for dispute, reply in filed:
        if reply:
            agent_reply(client, headers, dispute["dispute_id"])
    expected = {dispute["dispute_id"] for dispute, _ in filed}
    everything = queue(client, headers, "?limit=100")["data"]
    assert set(ids(everything)) == expected
    for limit in (1, 2, 3):
        seen = walk(client, headers, "", limit=limit)
        assert sorted(ids(seen)) == sorted(expected), limit  # each exactly once
        assert [d["respond_by"] for d in seen] == sorted(d["respond_by"] for d in seen), limit
    opened_only = walk(client, headers, "&status=open")
    assert sorted(ids(opened_only)) == sorted(d["dispute_id"] for d, reply in filed if not reply)


def test_a_queue_cursor_belongs_to_its_query(client, seeded, agent):
    agent_user, _ = agent
    filed_at(client, MON)
    filed_at(client, TUE)
    headers = signed_in(agent_user)
    cursor = queue(client, headers, "?limit=1")["next_cursor"]
    assert cursor
    assert_error(client.get("/admin/disputes?cursor=abc", headers=headers), 400, "invalid_cursor")
    response = client.get(f"/admin/disputes?limit=1&status=open&cursor={cursor}", headers=headers)
    assert_error(response, 400, "invalid_cursor")
    assert len(queue(client, headers, f"?limit=1&cursor={cursor}")["data"]) == 1


# --- 14. assign ------------------------------------------------------------------------------------------------


def test_assign_defaults_to_the_caller_and_takes_another_agent(client, seeded, agent):
    agent_user, headers = agent
    other, _ = second_agent()
    _, _, dispute = filed_at(client, clock.now())
    headers = signed_in(agent_user)
    path = f"/admin/disputes/{dispute['dispute_id']}/assign"
    response = agent_post(client, headers, path)
    assert response.status_code == 200, response.body
    assert body_of(response)["assignee"] == agent_user.user_id
    response = agent_post(client, headers, path, {"agent_id": other.user_id})
    assert response.status_code == 200 and body_of(response)["assignee"] == other.user_id
    case = details(client, headers, dispute["dispute_id"])
    assert case["assignee"] == other.user_id
    assigned = [e for e in case["events"] if e["action"] == "assigned"]
    assert [(e["actor"], e["detail"]["assignee"]) for e in assigned] == [
        (agent_user.user_id, agent_user.user_id),
        (agent_user.user_id, other.user_id),
    ]
    assert case["events"][0]["action"] == "filed"


def test_assign_to_someone_who_is_not_an_agent_is_404(client, seeded, agent):
    agent_user, _ = agent
    customer_user, _, dispute = filed_at(client, clock.now())
    headers = signed_in(agent_user)
    path = f"/admin/disputes/{dispute['dispute_id']}/assign"
    for agent_id in (customer_user.user_id, "usr_" + "0" * 32, "nobody"):
        assert_error(agent_post(client, headers, path, {"agent_id": agent_id}), 404, "not_found")
    assert_error(agent_post(client, headers, "/admin/disputes/dsp_unknown/assign"), 404, "not_found")
    assert details(client, headers, dispute["dispute_id"]).get("assignee") is None


def test_assigning_a_closed_dispute_is_409(client, seeded, agent):
    agent_user, _ = agent
    _, user_headers, dispute = filed_at(client, clock.now())
    post_json(client, f"/disputes/{dispute['dispute_id']}/withdraw", {}, user_headers)
    headers = signed_in(agent_user)
    response = agent_post(client, headers, f"/admin/disputes/{dispute['dispute_id']}/assign")
    assert assert_error(response, 409, "dispute_closed")["details"]["status"] == "withdrawn"


# --- 15. agent replies ----------------------------------------------------------------------------------------


def test_the_first_reply_moves_to_under_review_and_emails_the_user(client, seeded, agent):
    agent_user, headers = agent
    user, user_headers = customer(client)
    dispute_id = opened(client, user_headers, pay(client, user_headers, 5_000))["dispute_id"]
    assert details(client, headers, dispute_id)["agent_replied_at"] is None
    message = agent_reply(client, headers, dispute_id, "Please send us the receipt.")
    assert set(message) >= {"message_id", "author", "body", "created_at"}
    assert (message["author"], message["body"]) == ("agent", "Please send us the receipt.")
    case = details(client, headers, dispute_id)
    assert case["status"] == "under_review"
    assert case["agent_replied_at"] and case["agent_replied_at"].endswith("+08:00")
    assert case["assignee"] == agent_user.user_id  # unassigned → the replying agent
    assert [m["author_id"] for m in case["messages"]] == [agent_user.user_id]
    assert "under_review" in [e["action"] for e in case["events"]]
    assert body_of(read(client, user_headers, dispute_id))["status"] == "under_review"
    sent = mentioning(emails(user.email), dispute_id, "Please send us the receipt.")
    assert len(sent) == 1 and "new reply" in sent[0].subject


def test_a_chinese_user_gets_the_reply_in_the_chinese_template(client, seeded, agent):
    _, headers = agent
    user, user_headers = customer(client, locale="zh-CN")
    dispute_id = opened(client, user_headers, pay(client, user_headers, 5_000))["dispute_id"]
    agent_reply(client, headers, dispute_id, "请提供收据。")
    sent = mentioning(emails(user.email), dispute_id, "请提供收据。")
    assert len(sent) == 1
    assert "有新回复" in sent[0].subject and "客服就您的申诉" in sent[0].body


def test_later_replies_keep_under_review_and_the_assignee(client, seeded, agent):
    agent_user, headers = agent
    other, other_headers = second_agent()
    user, user_headers = customer(client)
    dispute_id = opened(client, user_headers, pay(client, user_headers, 5_000))["dispute_id"]
    agent_reply(client, headers, dispute_id, "first")
    replied_at = details(client, headers, dispute_id)["agent_replied_at"]
    agent_reply(client, other_headers, dispute_id, "second")
    case = details(client, headers, dispute_id)
    assert case["status"] == "under_review"
    assert case["agent_replied_at"] == replied_at
    assert case["assignee"] == agent_user.user_id
    assert [(m["author_id"], m["body"]) for m in case["messages"]] == [
        (agent_user.user_id, "first"),
        (other.user_id, "second"),
    ]
    assert len(mentioning(emails(user.email), dispute_id, "second")) == 1


def test_a_reply_keeps_an_existing_assignee(client, seeded, agent):
    _, headers = agent
    other, _ = second_agent()
    _, user_headers = customer(client)
    dispute_id = opened(client, user_headers, pay(client, user_headers, 5_000))["dispute_id"]
    agent_post(client, headers, f"/admin/disputes/{dispute_id}/assign", {"agent_id": other.user_id})
    agent_reply(client, headers, dispute_id)
    assert details(client, headers, dispute_id)["assignee"] == other.user_id


def test_replying_to_an_unknown_dispute_is_404(client, seeded, agent):
    _, headers = agent
    response = agent_post(client, headers, "/admin/disputes/dsp_nothing/messages", {"body": "hi"})
    assert_error(response, 404, "not_found")
    assert_error(client.get("/admin/disputes/dsp_nothing", headers=headers), 404, "not_found")


# --- 16. extend ---------------------------------------------------------------------------------------------------


def _shanghai(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


def test_extend_promises_a_date_and_tells_the_user_why(client, seeded, agent):
    _, headers = agent
    user, user_headers = customer(client)
    dispute_id = opened(client, user_headers, pay(client, user_headers, 5_000))["dispute_id"]
    until = _shanghai(clock.now() + timedelta(days=20))
    payload = {"reason": "Waiting for the merchant's records", "resolve_by": until}
    response = agent_post(client, headers, f"/admin/disputes/{dispute_id}/extend", payload)
    assert response.status_code == 200, response.body
    assert body_of(response)["resolve_by"] == until
    assert body_of(read(client, user_headers, dispute_id))["resolve_by"] == until
    sent = mentioning(emails(user.email), dispute_id, "Waiting for the merchant's records")
    assert len(sent) == 1 and "more time" in sent[0].subject
    assert until[:10] in sent[0].body  # the promised date, in Beijing time
    assert "extended" in [e["action"] for e in details(client, headers, dispute_id)["events"]]


def test_extend_refuses_a_date_in_the_past_or_beyond_90_days(client, seeded, agent):
    _, headers = agent
    _, user_headers = customer(client)
    dispute = opened(client, user_headers, pay(client, user_headers, 5_000))
    path = f"/admin/disputes/{dispute['dispute_id']}/extend"
    filed = datetime.fromisoformat(dispute["created_at"])
    for when in (
        _shanghai(clock.now() - timedelta(hours=1)),
        _shanghai(filed + timedelta(days=91)),
        "next tuesday",
    ):
        response = agent_post(client, headers, path, {"reason": "more time", "resolve_by": when})
        assert_error(response, 400, "validation_error", field="resolve_by")
    ok = _shanghai(filed + timedelta(days=89))
    assert agent_post(client, headers, path, {"reason": "more time", "resolve_by": ok}).status_code == 200
    earlier = _shanghai(filed + timedelta(days=30))
    response = agent_post(client, headers, path, {"reason": "sooner", "resolve_by": earlier})
    assert_error(response, 400, "validation_error", field="resolve_by")
    assert body_of(read(client, user_headers, dispute["dispute_id"]))["resolve_by"] == ok


def test_extending_a_closed_dispute_is_409(client, seeded, agent):
    _, headers = agent
    _, user_headers = customer(client)
    dispute_id = opened(client, user_headers, pay(client, user_headers, 5_000))["dispute_id"]
    resolved(client, headers, dispute_id, "rejected")
    payload = {"reason": "more time", "resolve_by": _shanghai(clock.now() + timedelta(days=5))}
    response = agent_post(client, headers, f"/admin/disputes/{dispute_id}/extend", payload)
    assert assert_error(response, 409, "dispute_closed")["details"]["status"] == "rejected"
    # a date already past is malformed whatever the case: 400 comes before 404 and 409
    past = {"reason": "more time", "resolve_by": _shanghai(clock.now() - timedelta(days=1))}
    response = agent_post(client, headers, f"/admin/disputes/{dispute_id}/extend", past)
    assert_error(response, 400, "validation_error", field="resolve_by")
    response = agent_post(client, headers, "/admin/disputes/dsp_missing/extend", past)
    assert_error(response, 400, "validation_error", field="resolve_by")


# --- 17. resolve: refunded -----------------------------------------------------------------------------------------


def test_a_refund_credits_the_wallet_once_from_the_write_off_account(client, seeded, agent):
    agent_user, headers = agent
    user, user_headers = customer(client, amount=100_000)
    txn = pay(client, user_headers, 5_000)
    dispute_id = opened(client, user_headers, txn)["dispute_id"]
    before = balances(client, user_headers)["CNY"]
    assert before == 95_000
    outcome = resolved(client, headers, dispute_id, note="Merchant confirmed the double charge")
    assert outcome["status"] == "refunded"
    assert outcome["refund_amount"] == 5_000
    refund_txn = outcome["refund_transaction_id"]
    assert refund_txn and refund_txn != txn
    assert balances(client, user_headers)["CNY"] == before + 5_000
    # the ledger: one balanced refund, the user credited, the write-off account debited
    entries = assert_balanced(refund_txn)
    assert {entry.type for entry in entries} == {"refund"}
    legs = sorted((e.account_type, e.direction, int(e.amount), e.currency) for e in entries)
    assert legs == [("system", "debit", 5_000, "CNY"), ("user_wallet", "credit", 5_000, "CNY")]
    (credit,) = [e for e in entries if e.account_type == "user_wallet"]
    (debit,) = [e for e in entries if e.account_type == "system"]
    assert credit.account_id == f"user#{user.user_id}" and int(credit.balance_after) == before + 5_000
    assert re.fullmatch(r"system#dispute_writeoff#\d{2}", debit.account_id), debit.account_id
    assert TransactionRecord.get(refund_txn).type == "refund"
    assert int(TransactionRecord.get(txn).refunded) == 5_000
    assert len(refund_entries(user.user_id)) == 1
    # the history shows it as a new transaction; the payment itself is unchanged
    history = body_of(client.get("/me/transactions", headers=user_headers))["data"]
    (item,) = [i for i in history if i["transaction_id"] == refund_txn]
    assert (item["type"], item["direction"], item["amount"], item["currency"]) == ("refund", "credit", 5_000, "CNY")
    assert item["balance_after"] == before + 5_000 and item["status"] == "completed"
    assert dispute_id in item["description"]
    (paid,) = [i for i in history if i["transaction_id"] == txn]
    assert (paid["type"], paid["direction"], paid["amount"]) == ("payment", "debit", 5_000)
    detail = body_of(client.get(f"/me/transactions/{refund_txn}", headers=user_headers))
    assert [(e["direction"], e["amount"]) for e in detail["entries"]] == [("credit", 5_000)]
    assert detail["legs"] == [{"account_type": "system", "amount": 5_000, "currency": "CNY"}]
    # the user's view and the email
    mine = body_of(read(client, user_headers, dispute_id))
    assert (mine["status"], mine["refund_amount"], mine["refund_transaction_id"]) == ("refunded", 5_000, refund_txn)
    sent = mentioning(emails(user.email), dispute_id, "refunded")
    assert len(sent) == 1 and "50.00" in sent[0].body and "Merchant confirmed the double charge" in sent[0].body
    case = details(client, headers, dispute_id)
    (event,) = [e for e in case["events"] if e["action"] == "refunded"]
    assert event["actor"] == agent_user.user_id and event["detail"]["transaction_id"] == refund_txn


def test_a_partial_refund_and_one_above_the_dispute(client, seeded, agent):
    _, headers = agent
    user, user_headers = customer(client, amount=100_000)
    txn = pay(client, user_headers, 5_000)
    dispute_id = opened(client, user_headers, txn, amount=4_000)["dispute_id"]
    error = assert_error(resolve(client, headers, dispute_id, refund_amount=4_001), 422, "amount_exceeds_refundable")
    assert error["details"]["refundable"] == {"amount": 4_000, "currency": "CNY"}
    assert body_of(read(client, user_headers, dispute_id))["status"] == "open"
    assert balances(client, user_headers)["CNY"] == 95_000
    outcome = resolved(client, headers, dispute_id, refund_amount=1_500)
    assert (outcome["status"], outcome["refund_amount"]) == ("refunded", 1_500)
    assert balances(client, user_headers)["CNY"] == 96_500
    assert int(TransactionRecord.get(txn).refunded) == 1_500
    assert [int(e.amount) for e in refund_entries(user.user_id)] == [1_500]
    # what was not refunded can be disputed again
    assert opened(client, user_headers, txn)["amount"] == 3_500


def test_a_chinese_user_sees_the_refund_in_chinese(client, seeded, agent):
    _, headers = agent
    user, user_headers = customer(client, locale="zh-CN")
    dispute_id = opened(client, user_headers, pay(client, user_headers, 5_000))["dispute_id"]
    refund_txn = resolved(client, headers, dispute_id, note="商户已确认重复扣款")["refund_transaction_id"]
    history = body_of(client.get("/me/transactions?type=refund", headers=user_headers))["data"]
    assert [(i["transaction_id"], i["type"]) for i in history] == [(refund_txn, "refund")]
    assert "申诉退款" in history[0]["description"] and dispute_id in history[0]["description"]
    sent = mentioning(emails(user.email), dispute_id, "已退款")
    assert len(sent) == 1 and "商户已确认重复扣款" in sent[0].body


def test_a_usd_payment_is_refunded_in_usd(client, seeded, agent):
    _, headers = agent
    _, user_headers = customer(client, amount=100_000, currency="USD")
    txn = pay(client, user_headers, 5_000, "USD", TRAVEL)
    dispute = opened(client, user_headers, txn)
    assert (dispute["amount"], dispute["currency"]) == (5_000, "USD")
    wallet = balances(client, user_headers)
    outcome = resolved(client, headers, dispute["dispute_id"])
    assert outcome["currency"] == "USD" and outcome["refund_amount"] == 5_000
    after = balances(client, user_headers)
    assert after["USD"] == wallet["USD"] + 5_000 == 100_000
    assert after["CNY"] == wallet["CNY"]
    entries = assert_balanced(outcome["refund_transaction_id"])
    assert {e.currency for e in entries} == {"USD"}


# --- 18. resolve is idempotent and happens once ----------------------------------------------------------------------


def test_resolve_needs_an_idempotency_key_and_replays_with_it(client, seeded, agent):
    _, headers = agent
    user, user_headers = customer(client, amount=100_000)
    dispute_id = opened(client, user_headers, pay(client, user_headers, 5_000))["dispute_id"]
    path = f"/admin/disputes/{dispute_id}/resolve"
    payload = {"outcome": "refunded", "note": "ok"}
    assert_error(post_json(client, path, payload, headers), 400, "idempotency_key_required")
    first = agent_post(client, headers, path, payload, key="resolve-1")
    assert first.status_code == 200, first.body
    assert balances(client, user_headers)["CNY"] == 100_000
    again = agent_post(client, headers, path, payload, key="resolve-1")
    assert again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert body_of(again) == body_of(first)
    assert_error(
        agent_post(client, headers, path, {**payload, "note": "other"}, key="resolve-1"), 422, "idempotency_key_reused"
    )
    closed = agent_post(client, headers, path, payload, key="resolve-2")
    assert assert_error(closed, 409, "dispute_closed")["details"]["status"] == "refunded"
    assert balances(client, user_headers)["CNY"] == 100_000
    assert len(refund_entries(user.user_id)) == 1
    assert len(mentioning(emails(user.email), dispute_id, "refunded")) == 1


# --- 19. resolve: rejected -------------------------------------------------------------------------------------------


def test_a_rejection_moves_no_money_and_releases_the_transaction(client, seeded, agent):
    _, headers = agent
    user, user_headers = customer(client, amount=100_000)
    txn = pay(client, user_headers, 5_000)
    dispute_id = opened(client, user_headers, txn)["dispute_id"]
    outcome = resolved(client, headers, dispute_id, "rejected", note="The merchant delivered the order")
    assert outcome["status"] == "rejected"
    assert outcome.get("refund_amount") is None and outcome.get("refund_transaction_id") is None
    assert balances(client, user_headers)["CNY"] == 95_000
    assert refund_entries(user.user_id) == []
    assert int(TransactionRecord.get(txn).refunded or 0) == 0
    assert body_of(read(client, user_headers, dispute_id))["status"] == "rejected"
    sent = mentioning(emails(user.email), dispute_id, "not upheld")
    assert len(sent) == 1 and "The merchant delivered the order" in sent[0].body
    assert opened(client, user_headers, txn)["amount"] == 5_000


def test_a_refund_amount_on_a_rejection_is_400(client, seeded, agent):
    _, headers = agent
    _, user_headers = customer(client)
    dispute_id = opened(client, user_headers, pay(client, user_headers, 5_000))["dispute_id"]
    response = resolve(client, headers, dispute_id, "rejected", refund_amount=100)
    assert_error(response, 400, "validation_error", field="refund_amount")
    for bad in (
        {"outcome": "approved", "note": "x"},
        {"outcome": "refunded"},
        {"outcome": "refunded", "note": "x", "refund_amount": 0},
    ):
        response = agent_post(client, headers, f"/admin/disputes/{dispute_id}/resolve", bad, uuid.uuid4().hex)
        assert_error(response, 400, "validation_error")
    assert body_of(read(client, user_headers, dispute_id))["status"] == "open"


def test_resolving_an_unknown_dispute_is_404(client, seeded, agent):
    _, headers = agent
    assert_error(resolve(client, headers, "dsp_" + "0" * 32), 404, "not_found")


# --- 20. concurrent resolves ----------------------------------------------------------------------------------------


def test_concurrent_resolves_refund_exactly_once(client, seeded, agent):
    agent_user, _ = agent
    user, user_headers = customer(client, amount=100_000)
    dispute_id = opened(client, user_headers, pay(client, user_headers, 5_000))["dispute_id"]
    threads_n = 8
    barrier = threading.Barrier(threads_n)
    results: list[dict] = []
    errors: list[Exception] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        try:
            view = dispute_desk.resolve(agent_user.user_id, dispute_id, "refunded", None, "ok", clock.now())
        except Exception as error:  # collected and checked below
            with lock:
                errors.append(error)
        else:
            with lock:
                results.append(view)

    threads = [threading.Thread(target=attempt) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 1, (results, errors)
    assert len(errors) == threads_n - 1
    assert all(isinstance(e, OkpayError) for e in errors), errors
    assert sorted({e.code for e in errors}) == ["dispute_closed"]  # not try_again
    assert balances(client, user_headers)["CNY"] == 100_000
    (entry,) = refund_entries(user.user_id)
    assert entry.transaction_id == results[0]["refund_transaction_id"]
    assert_balanced(entry.transaction_id)
    assert body_of(read(client, user_headers, dispute_id))["refund_amount"] == 5_000


# --- 22. the ledger stays balanced ------------------------------------------------------------------------------------


def test_money_is_conserved_after_refunds(client, seeded, agent):
    _, headers = agent
    _, cny_headers = customer(client, amount=100_000)
    _, usd_headers = customer(client, amount=50_000, currency="USD")
    first = opened(client, cny_headers, pay(client, cny_headers, 5_000), amount=3_000)
    resolved(client, headers, first["dispute_id"])
    second = opened(client, usd_headers, pay(client, usd_headers, 2_000, "USD", TRAVEL))
    resolved(client, headers, second["dispute_id"], refund_amount=1_999)
    sums: dict[str, int] = defaultdict(int)
    writeoff: dict[str, int] = defaultdict(int)
    for entry in LedgerEntry.scan():
        signed = int(entry.amount) * (1 if entry.direction == "credit" else -1)
        sums[entry.currency] += signed
        if entry.account_id.startswith("system#dispute_writeoff#"):
            writeoff[entry.currency] += signed
    assert sums and all(total == 0 for total in sums.values()), dict(sums)
    assert dict(writeoff) == {"CNY": -3_000, "USD": -1_999}
    assert balances(client, cny_headers)["CNY"] == 98_000
    assert balances(client, usd_headers)["USD"] == 49_999


@pytest.mark.parametrize("outcome", ["refunded", "rejected"])
def test_a_resolved_dispute_leaves_the_queue(client, seeded, agent, outcome):
    _, headers = agent
    _, user_headers = customer(client)
    dispute_id = opened(client, user_headers, pay(client, user_headers, 5_000))["dispute_id"]
    assert ids(queue(client, headers)["data"]) == [dispute_id]
    resolved(client, headers, dispute_id, outcome)
    assert queue(client, headers)["data"] == []


# --- the OpenAPI document describes what is answered --------------------------------------------------------------
# The `client` fixture checks every reply against the served document (tests/helpers/contract.py), so this walk
# through every dispute route and its error answers fails on any undocumented status or field.


def test_every_dispute_reply_is_documented(client, seeded, agent):
    _, headers = agent
    _, user_headers = customer(client)
    txn = pay(client, user_headers, 5_000)

    def status(response) -> int:
        return response.status_code

    assert status(post_json(client, "/disputes", {"transaction_id": txn}, user_headers)) == 400
    filed = post_json(client, "/disputes", {"transaction_id": txn, "reason": "other", "description": "x"}, user_headers)
    assert status(filed) == 201
    dispute_id = body_of(filed)["dispute_id"]
    again = {"transaction_id": txn, "reason": "other", "description": "x"}
    assert status(post_json(client, "/disputes", again, user_headers)) == 409
    too_much = {**again, "transaction_id": pay(client, user_headers, 100), "amount": 101}
    assert status(post_json(client, "/disputes", too_much, user_headers)) == 422
    assert status(post_json(client, "/disputes", {**again, "transaction_id": "txn_x"}, user_headers)) == 404
    assert status(client.get("/disputes?limit=1", headers=user_headers)) == 200
    assert status(post_json(client, f"/disputes/{dispute_id}/messages", {"body": "hello"}, user_headers)) == 201
    assert status(agent_post(client, headers, f"/admin/disputes/{dispute_id}/assign")) == 200
    assert status(agent_post(client, headers, f"/admin/disputes/{dispute_id}/messages", {"body": "hi"})) == 201
    extend = {"reason": "records", "resolve_by": (clock.now() + timedelta(days=10)).isoformat()}
    assert status(agent_post(client, headers, f"/admin/disputes/{dispute_id}/extend", extend)) == 200
    assert status(read(client, user_headers, dispute_id)) == 200
    assert status(client.get("/admin/disputes?limit=1", headers=headers)) == 200
    assert status(resolve(client, headers, dispute_id, refund_amount=9_999)) == 422
    assert status(resolve(client, headers, dispute_id)) == 200
    assert status(resolve(client, headers, dispute_id)) == 409
    case = client.get(f"/admin/disputes/{dispute_id}", headers=headers)
    actions = sorted(event["action"] for event in body_of(case)["events"])
    assert actions == ["assigned", "extended", "filed", "refunded", "under_review"]
    assert status(read(client, user_headers, dispute_id)) == 200  # with the refund and the note
    assert status(post_json(client, f"/disputes/{dispute_id}/withdraw", {}, user_headers)) == 409
    second = opened(client, user_headers, pay(client, user_headers, 200))["dispute_id"]
    assert status(post_json(client, f"/disputes/{second}/withdraw", {}, user_headers)) == 200
    rejected = opened(client, user_headers, pay(client, user_headers, 300))["dispute_id"]
    assert status(resolve(client, headers, rejected, "rejected")) == 200
    assert status(client.get(f"/admin/disputes/{second}", headers=headers)) == 200
    assert status(client.get(f"/admin/disputes/{rejected}", headers=headers)) == 200
    assert status(client.get("/disputes", headers=user_headers)) == 200


def test_the_document_describes_the_dispute_routes(client):
    document = body_of(client.get("/openapi.json"))
    operation = document["paths"]["/admin/disputes/{dispute_id}/resolve"]["post"]
    key = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert key["required"] is True
    assert {"200", "403", "404", "409", "422"} <= set(operation["responses"])
    assert "`own_case`" in operation["responses"]["403"]["description"]
    assert {"201", "404", "409", "422"} <= set(document["paths"]["/disputes"]["post"]["responses"])
    schemas = document["components"]["schemas"]
    # Left out until the dispute is resolved (refunded): documented, but not required.
    assert {"refund_amount", "refund_transaction_id", "resolution_note"} <= set(schemas["Dispute"]["properties"])
    assert not {"refund_amount", "refund_transaction_id", "resolution_note"} & set(schemas["Dispute"]["required"])
    assert "resolve_by" in schemas["Dispute"]["required"]  # sent as null until extended
    events = schemas["AgentDisputeDetail"]["properties"]["events"]["items"]
    assert events["discriminator"]["propertyName"] == "action"
    assert {"filed", "assigned", "under_review", "extended", "refunded", "rejected", "withdrawn"} <= set(
        events["discriminator"]["mapping"]
    )


def test_a_notice_whose_email_fails_goes_by_sms(client, seeded, monkeypatch):
    from chalicelib.adapters import notify
    from chalicelib.services.support import case_notices

    user, _ = customer(client)

    def ses_down(*args, **kwargs):
        raise RuntimeError("SES unavailable")

    monkeypatch.setattr(notify, "send_email", ses_down)
    assert case_notices.tell_user(user.user_id, "dispute_reply", "dsp_x", body="hello") is True
    texts = [m for m in outbox.messages(user.phone) if m.channel == "sms"]
    assert texts and "dsp_x" in texts[0].body


def test_two_agents_answering_at_once_move_it_to_under_review_once(client, seeded, agent, monkeypatch):
    from chalicelib.store.disputes import Dispute

    agent_user, headers = agent
    _, user_headers = customer(client)
    dispute_id = opened(client, user_headers, pay(client, user_headers, 5_000))["dispute_id"]
    stale = Dispute.get(dispute_id)  # what the second agent read before the first one answered
    agent_reply(client, headers, dispute_id, "I have it")
    replied_at = Dispute.get(dispute_id).agent_replied_at
    other, _ = second_agent()
    reads = iter([stale])
    real = dispute_desk.agent_dispute
    monkeypatch.setattr(dispute_desk, "agent_dispute", lambda dispute_id: next(reads, None) or real(dispute_id))
    dispute_desk.reply(other.user_id, dispute_id, "Me too", clock.now())
    stored = Dispute.get(dispute_id)
    assert (stored.status, stored.agent_replied_at, stored.assignee) == ("under_review", replied_at, agent_user.user_id)
    case = details(client, headers, dispute_id)
    assert [e["action"] for e in case["events"]].count("under_review") == 1
    assert [m["body"] for m in case["messages"]] == ["I have it", "Me too"]


def test_a_refund_past_what_is_left_of_the_debit_is_422_not_a_retry_loop(client, seeded, agent):
    _, headers = agent
    _, user_headers = customer(client)
    txn = pay(client, user_headers, 5_000)
    dispute_id = opened(client, user_headers, txn)["dispute_id"]
    # The original's refunds moved after filing, by other means (as a returned withdrawal does).
    TransactionRecord(txn).update(actions=[TransactionRecord.refunded.add(4_000)])
    before = balances(client, user_headers)
    response = resolve(client, headers, dispute_id, "refunded")
    error = assert_error(response, 422, "amount_exceeds_refundable", field="refund_amount")
    assert error["details"]["refundable"] == {"amount": 1_000, "currency": "CNY"}
    assert balances(client, user_headers) == before
    assert body_of(read(client, user_headers, dispute_id))["status"] == "open"  # nothing half-written
