"""Disputes (申诉), contract section 6, as the mobile app uses them: file, read, talk, withdraw, list.

Every test calls the HTTP API with the `client` fixture and looks only at what a user would notice:
the replies, their wallet, their history and the emails and SMS in the local outbox.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.adapters import business_calendar, clock, outbox
from chalicelib.errors import OkpayError
from chalicelib.services.support import disputes
from chalicelib.store.wallet import TransactionRecord
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.support import customer
from tests.helpers.users import signed_in
from tests.helpers.wallet import TRAVEL, pay, top_up

SHANGHAI = ZoneInfo("Asia/Shanghai")
DISPUTE_KEYS = {
    "dispute_id",
    "transaction_id",
    "status",
    "reason",
    "amount",
    "currency",
    "respond_by",
    "escalated",
    "created_at",
    "updated_at",
}


# --- helpers shared with test_dispute_desk.py --------------------------------------------------------


def file(
    client,
    headers,
    transaction_id: str,
    *,
    amount: int | None = None,
    reason: str = "unauthorized",
    description: str = "I did not make this payment",
    key: str | None = None,
):
    payload: dict = {"transaction_id": transaction_id, "reason": reason, "description": description}
    if amount is not None:
        payload["amount"] = amount
    return post_json(client, "/disputes", payload, {**headers, "Idempotency-Key": key} if key else headers)


def opened(client, headers, transaction_id: str, **kwargs) -> dict:
    response = file(client, headers, transaction_id, **kwargs)
    assert response.status_code == 201, response.body
    return body_of(response)


def emails(address: str) -> list[outbox.OutboxMessage]:
    """Emails sent to `address`, newest first."""
    return [message for message in outbox.messages(address) if message.channel == "email"]


def texts(phone: str) -> list[outbox.OutboxMessage]:
    return [message for message in outbox.messages(phone) if message.channel == "sms"]


def mentioning(messages: list[outbox.OutboxMessage], *needles: str) -> list[outbox.OutboxMessage]:
    return [m for m in messages if all(n in (m.subject or "") + m.body for n in needles)]


def agent_post(client, headers, path: str, payload: dict | None = None, key: str | None = None):
    extra = {"Idempotency-Key": key} if key else {}
    return post_json(client, path, payload if payload is not None else {}, {**headers, **extra})


def agent_reply(client, headers, dispute_id: str, body: str = "We are looking into it."):
    response = agent_post(client, headers, f"/admin/disputes/{dispute_id}/messages", {"body": body})
    assert response.status_code == 201, response.body
    return body_of(response)


def resolve(client, headers, dispute_id: str, outcome: str = "refunded", *, key: str | None = None, **extra):
    payload = {"outcome": outcome, "note": extra.pop("note", "Checked with the merchant"), **extra}
    return agent_post(client, headers, f"/admin/disputes/{dispute_id}/resolve", payload, key or uuid.uuid4().hex)


def resolved(client, headers, dispute_id: str, outcome: str = "refunded", **extra) -> dict:
    response = resolve(client, headers, dispute_id, outcome, **extra)
    assert response.status_code == 200, response.body
    return body_of(response)


def read(client, headers, dispute_id: str):
    return client.get(f"/disputes/{dispute_id}", headers=headers)


def at(moment: datetime) -> None:
    clock.set_test_clock(moment)


# --- 1. filing ---------------------------------------------------------------------------------------


def test_filing_answers_201_with_the_dispute_for_the_whole_payment(client, seeded):
    _, headers = customer(client)
    txn = pay(client, headers, 5_000)
    response = file(client, headers, txn, reason="not_received", description="咖啡没收到")
    assert response.status_code == 201, response.body
    dispute = body_of(response)
    assert set(dispute) >= DISPUTE_KEYS, dispute
    assert dispute["dispute_id"].startswith("dsp_")
    assert dispute["transaction_id"] == txn
    assert dispute["status"] == "open"
    assert dispute["reason"] == "not_received"
    assert (dispute["amount"], dispute["currency"]) == (5_000, "CNY")
    assert dispute["escalated"] is False
    assert dispute["respond_by"].endswith("T23:59:59+08:00")
    assert dispute["created_at"].endswith("+08:00") and dispute["updated_at"] == dispute["created_at"]
    assert datetime.fromisoformat(dispute["respond_by"]) > datetime.fromisoformat(dispute["created_at"])
    assert dispute.get("assignee") is None and dispute.get("resolve_by") is None
    # what the app reads back is what it was given
    again = body_of(read(client, headers, dispute["dispute_id"]))
    assert {k: again[k] for k in DISPUTE_KEYS} == {k: dispute[k] for k in DISPUTE_KEYS}
    assert again["messages"] == []


def test_a_partial_amount_is_kept(client, seeded):
    _, headers = customer(client)
    txn = pay(client, headers, 5_000)
    dispute = opened(client, headers, txn, amount=1_200, reason="incorrect_amount")
    assert (dispute["amount"], dispute["currency"], dispute["reason"]) == (1_200, "CNY", "incorrect_amount")


def test_the_acknowledgement_email_names_the_dispute(client, seeded):
    user, headers = customer(client)
    dispute = opened(client, headers, pay(client, headers, 5_000))
    sent = mentioning(emails(user.email), dispute["dispute_id"])
    assert len(sent) == 1, [m.subject for m in emails(user.email)]
    assert dispute["dispute_id"] in sent[0].subject
    assert "received" in sent[0].subject
    assert dispute["transaction_id"] in sent[0].body
    assert "50.00" in sent[0].body  # the amount disputed


def test_a_chinese_user_gets_the_acknowledgement_in_chinese(client, seeded):
    user, headers = customer(client, locale="zh-CN")
    dispute = opened(client, headers, pay(client, headers, 5_000))
    sent = mentioning(emails(user.email), dispute["dispute_id"])
    assert len(sent) == 1
    assert "申诉已受理" in sent[0].subject
    assert "北京时间" in sent[0].body and dispute["transaction_id"] in sent[0].body
    assert "Hello" not in sent[0].body


def test_a_user_whose_email_is_not_verified_gets_the_email_and_an_sms(client, seeded):
    user, headers = customer(client, email_verified=False)
    dispute = opened(client, headers, pay(client, headers, 5_000))
    assert len(mentioning(emails(user.email), dispute["dispute_id"])) == 1
    sms = mentioning(texts(user.phone), dispute["dispute_id"])
    assert len(sms) == 1
    assert "received" in sms[0].body


# --- 2. respond_by from the business calendar ---------------------------------------------------------


@pytest.mark.parametrize(
    ("filed_at", "respond_by"),
    [
        # Tuesday before the National Day week: Oct 1–8 off, Saturday Oct 11 is a make-up working day
        (datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI), "2025-10-11T23:59:59+08:00"),
        # at 17:30 the start day is the next working day, Oct 9
        (datetime(2025, 9, 30, 17, 30, tzinfo=SHANGHAI), "2025-10-13T23:59:59+08:00"),
        # Friday before the 2026 Spring Festival: Sat Feb 14 works, Feb 15–23 off
        (datetime(2026, 2, 13, 9, 0, tzinfo=SHANGHAI), "2026-02-25T23:59:59+08:00"),
        # an ordinary week: Monday 17:29 starts Monday → Thursday
        (datetime(2025, 11, 3, 17, 29, tzinfo=SHANGHAI), "2025-11-06T23:59:59+08:00"),
        # Saturday 01:00 in Shanghai (still Friday in UTC) starts on Monday → Thursday
        (datetime(2025, 11, 8, 1, 0, tzinfo=SHANGHAI), "2025-11-13T23:59:59+08:00"),
    ],
)
def test_respond_by_is_the_third_working_day_after_the_start_day(client, seeded, filed_at, respond_by):
    at(filed_at)
    user, headers = customer(client)
    dispute = opened(client, headers, pay(client, headers, 5_000))
    assert dispute["respond_by"] == respond_by
    assert dispute["created_at"].startswith(filed_at.strftime("%Y-%m-%dT%H:%M"))
    # the acknowledgement promises the same deadline, in Beijing time
    (ack,) = mentioning(emails(user.email), dispute["dispute_id"])
    assert f"{respond_by[:10]} 23:59" in ack.body


def test_a_year_not_yet_published_uses_weekdays_minus_statutory_days_and_alerts(client, seeded, log_lines):
    if business_calendar.is_published(2027):
        pytest.skip("the calendar libraries now carry 2027: pick a later year")
    business_calendar._reset()  # forget alerts already raised in this process
    at(datetime(2026, 12, 30, 10, 0, tzinfo=SHANGHAI))  # Wednesday; Jan 1 2027 is New Year's Day
    _, headers = customer(client)
    dispute = opened(client, headers, pay(client, headers, 5_000))
    assert dispute["respond_by"] == "2027-01-05T23:59:59+08:00"  # Dec 31, Jan 4, Jan 5
    lines = [line for line in log_lines() if "calendar_unpublished_year" in line]
    assert len(lines) == 1 and '"year":2027' in lines[0].replace(" ", "")


# --- 3. validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ammount": 100}, "ammount"),
        ({"reason": "changed_my_mind"}, "reason"),
        ({"description": None}, "description"),
        ({"description": "   "}, "description"),
        ({"description": "x" * 2001}, "description"),
        ({"amount": 10**12 + 1}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"amount": True}, "amount"),
        ({"transaction_id": 12}, "transaction_id"),
    ],
)
def test_a_malformed_filing_is_400_with_the_field(client, seeded, change, field):
    _, headers = customer(client)
    txn = pay(client, headers, 5_000)
    payload = {"transaction_id": txn, "reason": "other", "description": "wrong", **change}
    payload = {k: v for k, v in payload.items() if v is not None}
    assert_error(post_json(client, "/disputes", payload, headers), 400, "validation_error", field=field)
    assert body_of(client.get("/disputes", headers=headers))["data"] == []


@pytest.mark.parametrize("raw", [b"[]", b'"dispute"', b"42", b"not json"])
def test_a_body_that_is_not_an_object_is_400(client, seeded, raw):
    _, headers = customer(client)
    assert_error(post_json(client, "/disputes", raw, headers), 400, "validation_error")


# --- 4. who may call ---------------------------------------------------------------------------------


def test_without_a_token_every_dispute_route_is_401(client, seeded):
    assert_error(post_json(client, "/disputes", {"transaction_id": "txn_x"}), 401, "unauthorized")
    assert_error(client.get("/disputes"), 401, "unauthorized")
    assert_error(client.get("/disputes/dsp_x"), 401, "unauthorized")
    assert_error(post_json(client, "/disputes/dsp_x/messages", {"body": "hi"}), 401, "unauthorized")
    assert_error(post_json(client, "/disputes/dsp_x/withdraw", {}), 401, "unauthorized")
    assert_error(client.get("/admin/disputes"), 401, "unauthorized")


def test_a_user_is_forbidden_on_every_admin_dispute_route(client, seeded):
    _, headers = customer(client)
    dispute = opened(client, headers, pay(client, headers, 5_000))
    base = f"/admin/disputes/{dispute['dispute_id']}"
    assert_error(client.get("/admin/disputes", headers=headers), 403, "forbidden")
    assert_error(client.get(base, headers=headers), 403, "forbidden")
    assert_error(agent_post(client, headers, f"{base}/assign"), 403, "forbidden")
    assert_error(agent_post(client, headers, f"{base}/messages", {"body": "hi"}), 403, "forbidden")
    extend = {"reason": "x", "resolve_by": "2099-01-01T00:00:00+08:00"}
    assert_error(agent_post(client, headers, f"{base}/extend", extend), 403, "forbidden")
    # 403 comes before the missing Idempotency-Key
    assert_error(agent_post(client, headers, f"{base}/resolve", {"outcome": "refunded", "note": "x"}), 403, "forbidden")
    assert_error(resolve(client, headers, dispute["dispute_id"]), 403, "forbidden")
    assert body_of(read(client, headers, dispute["dispute_id"]))["status"] == "open"


# --- 5. not found --------------------------------------------------------------------------------------


def test_an_unknown_or_foreign_transaction_is_404_on_transaction_id(client, seeded):
    _, headers = customer(client)
    _, other = customer(client)
    foreign = pay(client, other, 5_000)
    assert_error(file(client, headers, "txn_" + "0" * 32), 404, "not_found", field="transaction_id")
    assert_error(file(client, headers, "nonsense"), 404, "not_found", field="transaction_id")
    assert_error(file(client, headers, foreign), 404, "not_found", field="transaction_id")


def test_another_users_dispute_is_404_everywhere(client, seeded):
    _, owner = customer(client)
    _, stranger = customer(client)
    dispute_id = opened(client, owner, pay(client, owner, 5_000))["dispute_id"]
    for dispute in (dispute_id, "dsp_" + "0" * 32, "nothing"):
        assert_error(read(client, stranger, dispute), 404, "not_found")
        assert_error(post_json(client, f"/disputes/{dispute}/messages", {"body": "hi"}, stranger), 404, "not_found")
        assert_error(post_json(client, f"/disputes/{dispute}/withdraw", {}, stranger), 404, "not_found")
    mine = body_of(read(client, owner, dispute_id))
    assert mine["status"] == "open" and mine["messages"] == []


# --- 6. one active dispute per transaction ---------------------------------------------------------------


def test_a_second_dispute_is_409_while_open_and_under_review(client, seeded, agent):
    _, agent_headers = agent
    _, headers = customer(client)
    txn = pay(client, headers, 5_000)
    first = opened(client, headers, txn, amount=1_000)
    error = assert_error(file(client, headers, txn, amount=500), 409, "dispute_exists")
    assert error["details"]["dispute_id"] == first["dispute_id"]
    agent_reply(client, agent_headers, first["dispute_id"])
    assert body_of(read(client, headers, first["dispute_id"]))["status"] == "under_review"
    error = assert_error(file(client, headers, txn), 409, "dispute_exists")
    assert error["details"]["dispute_id"] == first["dispute_id"]
    assert len(body_of(client.get("/disputes", headers=headers))["data"]) == 1


def test_the_refusal_speaks_the_users_language(client, seeded):
    _, headers = customer(client, locale="zh-CN")
    txn = pay(client, headers, 5_000)
    opened(client, headers, txn)
    assert assert_error(file(client, headers, txn), 409, "dispute_exists")["message"] == "该交易已有处理中的申诉。"
    english = post_json(
        client,
        "/disputes",
        {"transaction_id": txn, "reason": "other", "description": "again"},
        {**headers, "Accept-Language": "en-US"},
    )
    assert "already" in assert_error(english, 409, "dispute_exists")["message"]


def test_after_a_withdrawal_the_transaction_can_be_disputed_again(client, seeded):
    _, headers = customer(client)
    txn = pay(client, headers, 5_000)
    first = opened(client, headers, txn)
    assert post_json(client, f"/disputes/{first['dispute_id']}/withdraw", {}, headers).status_code == 200
    second = opened(client, headers, txn)
    assert second["dispute_id"] != first["dispute_id"] and second["amount"] == 5_000


def test_after_a_rejection_the_transaction_can_be_disputed_again(client, seeded, agent):
    _, agent_headers = agent
    _, headers = customer(client)
    txn = pay(client, headers, 5_000)
    first = opened(client, headers, txn)
    resolved(client, agent_headers, first["dispute_id"], "rejected")
    second = opened(client, headers, txn, reason="other", description="I have new evidence")
    assert second["status"] == "open" and second["amount"] == 5_000


# --- 7. what may be disputed ---------------------------------------------------------------------------------


def test_a_top_up_is_not_disputable(client, seeded):
    _, headers = customer(client)
    card = body_of(client.get("/me/funding-sources", headers=headers))["data"][0]["funding_source_id"]
    topup = body_of(top_up(client, headers, card, 10_000))["transaction_id"]
    assert_error(file(client, headers, topup), 422, "not_disputable", field="transaction_id")


def test_a_conversion_is_not_disputable(client, seeded):
    _, headers = customer(client)
    payload = {"from_currency": "CNY", "to_currency": "USD", "amount": 10_000}
    response = post_json(client, "/me/conversions", payload, {**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.body
    assert_error(file(client, headers, body_of(response)["transaction_id"]), 422, "not_disputable")


def test_a_transfer_is_disputable_by_the_payer_only(client, seeded):
    _, payer = customer(client)
    payee, payee_headers = customer(client)
    payload = {"recipient": {"user_id": payee.user_id}, "amount": 10_000, "currency": "CNY"}
    response = post_json(client, "/transfers", payload, {**payer, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.body
    txn = body_of(response)["transaction_id"]
    assert_error(file(client, payee_headers, txn), 422, "not_disputable", field="transaction_id")
    dispute = opened(client, payer, txn)
    assert (dispute["amount"], dispute["currency"]) == (10_000, "CNY")


def test_the_payee_does_not_learn_of_the_payers_dispute(client, seeded):
    _, payer = customer(client)
    payee, payee_headers = customer(client)
    payload = {"recipient": {"user_id": payee.user_id}, "amount": 10_000, "currency": "CNY"}
    response = post_json(client, "/transfers", payload, {**payer, "Idempotency-Key": uuid.uuid4().hex})
    txn = body_of(response)["transaction_id"]
    dispute = opened(client, payer, txn, reason="unauthorized")
    response = file(client, payee_headers, txn)
    assert dispute["dispute_id"] not in response.body.decode()
    assert_error(response, 422, "not_disputable", field="transaction_id")


def test_a_withdrawal_to_the_users_card_is_disputable(client, seeded):
    _, headers = customer(client)
    card = body_of(client.get("/me/funding-sources", headers=headers))["data"][0]["funding_source_id"]
    payload = {"funding_source_id": card, "amount": 8_000, "currency": "CNY"}
    response = post_json(client, "/me/withdrawals", payload, {**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.body
    dispute = opened(client, headers, body_of(response)["transaction_id"], reason="not_received")
    assert (dispute["amount"], dispute["currency"], dispute["status"]) == (8_000, "CNY", "open")


def test_a_refund_is_not_disputable(client, seeded, agent):
    _, agent_headers = agent
    _, headers = customer(client)
    dispute = opened(client, headers, pay(client, headers, 5_000))
    refund_txn = resolved(client, agent_headers, dispute["dispute_id"])["refund_transaction_id"]
    assert_error(file(client, headers, refund_txn), 422, "not_disputable", field="transaction_id")


# --- 8. 120 Shanghai days ---------------------------------------------------------------------------------------


def test_the_window_is_120_shanghai_days_from_the_payment(client, seeded):
    paid_at = datetime(2025, 3, 3, 12, 0, tzinfo=SHANGHAI)
    at(paid_at)
    user, headers = customer(client)
    late = pay(client, headers, 5_000)
    in_time = pay(client, headers, 4_000)
    at(paid_at + timedelta(days=121))
    headers = signed_in(user)
    assert_error(file(client, headers, late), 422, "dispute_window_closed", field="transaction_id")
    at(paid_at + timedelta(days=120))
    headers = signed_in(user)
    dispute = opened(client, headers, in_time)
    assert dispute["amount"] == 4_000


def test_the_window_counts_shanghai_calendar_days_not_utc_days_or_hours(client, seeded):
    # paid Mar 4 00:30 Shanghai (Mar 3 in UTC); Jul 2 09:00 Shanghai is day 120 there, but day 121
    # in UTC and more than 120 × 24 hours later: still in time.
    at(datetime(2025, 3, 4, 0, 30, tzinfo=SHANGHAI))
    user, headers = customer(client)
    txn = pay(client, headers, 5_000)
    at(datetime(2025, 7, 2, 9, 0, tzinfo=SHANGHAI))
    assert file(client, signed_in(user), txn).status_code == 201


# --- 9. the amount not yet refunded -------------------------------------------------------------------------


def test_more_than_the_payment_is_422_with_the_refundable_amount(client, seeded):
    _, headers = customer(client)
    txn = pay(client, headers, 5_000)
    error = assert_error(file(client, headers, txn, amount=5_001), 422, "amount_exceeds_refundable")
    assert error["details"]["refundable"] == {"amount": 5_000, "currency": "CNY"}


def test_after_refunds_only_the_rest_can_be_disputed(client, seeded, agent):
    _, agent_headers = agent
    _, headers = customer(client)
    txn = pay(client, headers, 5_000)
    first = opened(client, headers, txn, amount=3_000)
    assert resolved(client, agent_headers, first["dispute_id"])["refund_amount"] == 3_000
    error = assert_error(file(client, headers, txn, amount=2_500), 422, "amount_exceeds_refundable")
    assert error["details"]["refundable"] == {"amount": 2_000, "currency": "CNY"}
    rest = opened(client, headers, txn)
    assert rest["amount"] == 2_000
    assert resolved(client, agent_headers, rest["dispute_id"])["refund_amount"] == 2_000
    assert int(TransactionRecord.get(txn).refunded) == 5_000
    error = assert_error(file(client, headers, txn), 422, "amount_exceeds_refundable")
    assert error["details"]["refundable"] == {"amount": 0, "currency": "CNY"}
    error = assert_error(file(client, headers, txn, amount=1), 422, "amount_exceeds_refundable")
    assert error["details"]["refundable"] == {"amount": 0, "currency": "CNY"}


# --- 10. messages -----------------------------------------------------------------------------------------------


def test_the_user_and_the_agent_talk_on_the_timeline_oldest_first(client, seeded, agent):
    _, agent_headers = agent
    _, headers = customer(client)
    dispute_id = opened(client, headers, pay(client, headers, 5_000))["dispute_id"]
    response = post_json(client, f"/disputes/{dispute_id}/messages", {"body": "收据见附件"}, headers)
    assert response.status_code == 201, response.body
    mine = body_of(response)
    assert set(mine) == {"message_id", "author", "body", "created_at"}
    assert (mine["author"], mine["body"]) == ("user", "收据见附件")
    assert mine["created_at"].endswith("+08:00")
    answer = agent_reply(client, agent_headers, dispute_id, "Thanks, we asked the merchant.")
    assert answer["author"] == "agent"
    post_json(client, f"/disputes/{dispute_id}/messages", {"body": "Any news?"}, headers)
    timeline = body_of(read(client, headers, dispute_id))["messages"]
    assert [(m["author"], m["body"]) for m in timeline] == [
        ("user", "收据见附件"),
        ("agent", "Thanks, we asked the merchant."),
        ("user", "Any news?"),
    ]
    assert timeline[0]["message_id"] == mine["message_id"] and timeline[1]["message_id"] == answer["message_id"]
    assert [m["created_at"] for m in timeline] == sorted(m["created_at"] for m in timeline)
    assert body_of(read(client, headers, dispute_id))["updated_at"] == timeline[-1]["created_at"]


def test_a_message_on_a_closed_dispute_is_409_with_its_status(client, seeded, agent):
    _, agent_headers = agent
    _, headers = customer(client)
    withdrawn = opened(client, headers, pay(client, headers, 5_000))["dispute_id"]
    post_json(client, f"/disputes/{withdrawn}/withdraw", {}, headers)
    error = assert_error(
        post_json(client, f"/disputes/{withdrawn}/messages", {"body": "x"}, headers), 409, "dispute_closed"
    )
    assert error["details"]["status"] == "withdrawn"
    refunded = opened(client, headers, pay(client, headers, 5_000))["dispute_id"]
    resolved(client, agent_headers, refunded)
    error = assert_error(
        post_json(client, f"/disputes/{refunded}/messages", {"body": "x"}, headers), 409, "dispute_closed"
    )
    assert error["details"]["status"] == "refunded"
    assert body_of(read(client, headers, withdrawn))["messages"] == []


def test_an_empty_message_is_400(client, seeded):
    _, headers = customer(client)
    dispute_id = opened(client, headers, pay(client, headers, 5_000))["dispute_id"]
    response = post_json(client, f"/disputes/{dispute_id}/messages", {"body": " "}, headers)
    assert_error(response, 400, "validation_error", field="body")


# --- 11. withdraw -----------------------------------------------------------------------------------------------


def test_withdrawing_closes_the_dispute_and_tells_the_user(client, seeded, agent):
    _, agent_headers = agent
    user, headers = customer(client)
    dispute = opened(client, headers, pay(client, headers, 5_000))
    response = post_json(client, f"/disputes/{dispute['dispute_id']}/withdraw", {}, headers)
    assert response.status_code == 200, response.body
    withdrawn = body_of(response)
    assert withdrawn["status"] == "withdrawn" and withdrawn["dispute_id"] == dispute["dispute_id"]
    assert body_of(read(client, headers, dispute["dispute_id"]))["status"] == "withdrawn"
    assert len(mentioning(emails(user.email), dispute["dispute_id"], "withdrew")) == 1
    again = post_json(client, f"/disputes/{dispute['dispute_id']}/withdraw", {}, headers)
    assert assert_error(again, 409, "dispute_closed")["details"]["status"] == "withdrawn"
    late = agent_post(client, agent_headers, f"/admin/disputes/{dispute['dispute_id']}/messages", {"body": "hello"})
    assert assert_error(late, 409, "dispute_closed")["details"]["status"] == "withdrawn"


def test_a_withdrawal_with_no_body_at_all_works(client, seeded):
    _, headers = customer(client)
    dispute_id = opened(client, headers, pay(client, headers, 5_000))["dispute_id"]
    response = client.post(f"/disputes/{dispute_id}/withdraw", headers=headers)
    assert response.status_code == 200, response.body
    assert body_of(response)["status"] == "withdrawn"


# --- 12. the caller's list ------------------------------------------------------------------------------------


def test_the_list_is_the_callers_disputes_newest_first_and_pages(client, seeded):
    _, headers = customer(client)
    _, other = customer(client)
    mine = [opened(client, headers, pay(client, headers, 1_000 + n))["dispute_id"] for n in range(3)]
    theirs = [opened(client, other, pay(client, other, 2_000 + n))["dispute_id"] for n in range(2)]
    listed = body_of(client.get("/disputes", headers=headers))
    assert [d["dispute_id"] for d in listed["data"]] == mine[::-1]
    assert [d["amount"] for d in listed["data"]] == [1_002, 1_001, 1_000]
    # limit=1 walks every dispute once
    seen, cursor, pages = [], None, 0
    while True:
        query = "/disputes?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = body_of(client.get(query, headers=headers))
        assert len(page["data"]) <= 1
        seen += [d["dispute_id"] for d in page["data"]]
        cursor, pages = page["next_cursor"], pages + 1
        if cursor is None:
            break
        assert pages < 10
    assert seen == mine[::-1]
    assert set(theirs).isdisjoint(seen)
    assert_error(client.get("/disputes?cursor=not-a-cursor", headers=headers), 400, "invalid_cursor")
    foreign = body_of(client.get("/disputes?limit=1", headers=other))["next_cursor"]
    assert foreign
    assert_error(client.get(f"/disputes?limit=1&cursor={foreign}", headers=headers), 400, "invalid_cursor")


def test_a_limit_out_of_range_is_400(client, seeded):
    _, headers = customer(client)
    assert_error(client.get("/disputes?limit=0", headers=headers), 400, "validation_error", field="limit")
    assert_error(client.get("/disputes?limit=101", headers=headers), 400, "validation_error", field="limit")


# --- 21. idempotent filing ----------------------------------------------------------------------------------------


def test_the_same_key_and_body_files_once(client, seeded):
    user, headers = customer(client)
    txn = pay(client, headers, 5_000)
    first = file(client, headers, txn, key="file-once")
    assert first.status_code == 201
    again = file(client, headers, txn, key="file-once")
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert body_of(again) == body_of(first)
    assert "Idempotent-Replayed" not in first.headers
    listed = body_of(client.get("/disputes", headers=headers))["data"]
    assert [d["dispute_id"] for d in listed] == [body_of(first)["dispute_id"]]
    assert len(mentioning(emails(user.email), body_of(first)["dispute_id"])) == 1  # told once
    other = file(client, headers, txn, key="file-once", amount=100)
    assert_error(other, 422, "idempotency_key_reused")
    # without a key the rules apply: one active dispute
    assert_error(file(client, headers, txn), 409, "dispute_exists")


def test_concurrent_filings_open_one_dispute(client, seeded):
    user, headers = customer(client)
    txn = pay(client, headers, 5_000)
    barrier = threading.Barrier(6)
    outcomes: list[object] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        try:
            result: object = disputes.file_dispute(user.user_id, txn, "duplicate", "twice", None, clock.now())
        except OkpayError as error:
            result = error.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    created = [o for o in outcomes if isinstance(o, dict)]
    assert len(created) == 1, outcomes
    assert sorted(o for o in outcomes if not isinstance(o, dict)) == ["dispute_exists"] * 5
    listed = body_of(client.get("/disputes", headers=headers))["data"]
    assert [d["dispute_id"] for d in listed] == [created[0]["dispute_id"]]


def test_messages_honour_the_idempotency_key(client, seeded, agent):
    _, agent_headers = agent
    user, headers = customer(client)
    dispute_id = opened(client, headers, pay(client, headers, 5_000))["dispute_id"]
    path = f"/disputes/{dispute_id}/messages"
    first = post_json(client, path, {"body": "receipt attached"}, {**headers, "Idempotency-Key": "m1"})
    again = post_json(client, path, {"body": "receipt attached"}, {**headers, "Idempotency-Key": "m1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true" and body_of(again) == body_of(first)
    admin_path = f"/admin/disputes/{dispute_id}/messages"
    reply = agent_post(client, agent_headers, admin_path, {"body": "thanks"}, key="r1")
    replay = agent_post(client, agent_headers, admin_path, {"body": "thanks"}, key="r1")
    assert replay.headers.get("Idempotent-Replayed") == "true" and body_of(replay) == body_of(reply)
    timeline = body_of(read(client, headers, dispute_id))["messages"]
    assert [(m["author"], m["body"]) for m in timeline] == [("user", "receipt attached"), ("agent", "thanks")]
    assert len(mentioning(emails(user.email), dispute_id, "thanks")) == 1


def test_a_malformed_idempotency_key_is_400(client, seeded):
    _, headers = customer(client)
    txn = pay(client, headers, 5_000)
    response = file(client, headers, txn, key="x" * 256)
    assert_error(response, 400, "idempotency_key_required")
    assert body_of(client.get("/disputes", headers=headers))["data"] == []


def test_a_refused_filing_is_replayed_with_its_key(client, seeded):
    _, headers = customer(client)
    txn = pay(client, headers, 5_000)
    refused = file(client, headers, txn, amount=9_999, key="too-much")
    assert_error(refused, 422, "amount_exceeds_refundable")
    replay = file(client, headers, txn, amount=9_999, key="too-much")
    assert replay.status_code == 422 and replay.headers.get("Idempotent-Replayed") == "true"
    assert body_of(client.get("/disputes", headers=headers))["data"] == []


def test_a_dispute_of_another_currency_keeps_the_payments_currency(client, seeded):
    _, headers = customer(client, amount=100_000, currency="USD")
    txn = pay(client, headers, 2_500, "USD", TRAVEL)
    dispute = opened(client, headers, txn)
    assert (dispute["amount"], dispute["currency"]) == (2_500, "USD")
