"""Mail to the support address becomes tickets (contract section 13): who owns them, the acknowledgement,
threading replies three ways, agents' replies by email, verdicts, duplicates and the daily cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from chalicelib.adapters import clock, outbox
from chalicelib.adapters.config import get_settings
from chalicelib.services.support import inbound_email
from chalicelib.services.support.reply_addresses import reply_address
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.outbox import moto_emails
from tests.helpers.parallel import run_together
from tests.helpers.users import make_user, new_email, signed_in
from tests.support.email_mail import SUPPORT, agent_case, eml, inbound, mail, owner
from tests.support.test_tickets import agent_reply, set_status

DEC_1 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def acks(address: str) -> list[outbox.OutboxMessage]:
    return [m for m in outbox.messages(address) if m.channel == "email"]


def queue(client, agent_headers, status: str | None = None) -> list[dict]:
    query = f"?status={status}" if status else ""
    response = client.get(f"/admin/tickets{query}", headers=agent_headers)
    assert response.status_code == 200, response.body
    return body_of(response)["data"]


def my_tickets(client, headers) -> list[dict]:
    response = client.get("/support/tickets", headers=headers)
    assert response.status_code == 200, response.body
    return body_of(response)["data"]


# --- a new mail ------------------------------------------------------------------------------------


def test_a_strangers_mail_opens_an_unverified_ticket_that_no_user_sees(client, agent):
    _, agent_headers = agent
    clock.set_test_clock(DEC_1)
    sender = new_email("stranger")
    outcome = inbound(client, mail(sender, "Where is my money?", subject="Transfer not received"))
    assert outcome["result"] == "ticket_created"
    ticket_id = outcome["ticket_id"]

    ticket = agent_case(client, agent_headers, ticket_id)
    assert ticket["source"] == "email" and ticket["status"] == "new"
    assert ticket["requester_email"] == sender and ticket["verified_sender"] is False and ticket["user_id"] is None
    assert ticket["subject"] == "Transfer not received"
    assert [(m["author"], m["author_id"], m["body"]) for m in ticket["messages"]] == [
        ("user", f"email:{sender}", "Where is my money?")
    ]
    assert ticket["first_response_due"] == "2026-12-02T10:00:00+08:00"
    assert [t["ticket_id"] for t in queue(client, agent_headers)] == [ticket_id]

    (ack,) = acks(sender)
    assert ticket_id in ack.subject and ticket_id in ack.body and "2026-12-02 10:00" in ack.body
    assert ack.reply_to is not None and ack.reply_to.startswith(f"support+t.{ticket_id}.")

    # a user, even one whose (unverified) email is that address, sees nothing of it
    someone = make_user(email_verified=False)
    headers = signed_in(someone)
    assert my_tickets(client, headers) == []
    assert_error(client.get(f"/support/tickets/{ticket_id}", headers=headers), 404, "not_found")
    assert_error(post_json(client, f"/support/tickets/{ticket_id}/messages", {"body": "x"}, headers), 404, "not_found")


def test_a_verified_account_email_owns_its_ticket_and_answers_in_the_app(client, agent):
    _, agent_headers = agent
    user = owner(locale="zh-CN")
    headers = signed_in(user)
    outcome = inbound(client, mail(user.email, "I cannot log in.", subject="Login problem"), {"dkim": "PASS"})
    assert outcome["result"] == "ticket_created"
    (listed,) = my_tickets(client, headers)
    assert listed["ticket_id"] == outcome["ticket_id"] and listed["source"] == "email"
    assert listed["verified_sender"] is True and listed["requester_email"] == user.email
    assert agent_case(client, agent_headers, outcome["ticket_id"])["user_id"] == user.user_id
    # the acknowledgement is in the owner's language even though the mail is English
    (ack,) = acks(user.email)
    assert "客服已收到您的邮件" in ack.subject and outcome["ticket_id"] in ack.subject
    response = post_json(client, f"/support/tickets/{outcome['ticket_id']}/messages", {"body": "Any news?"}, headers)
    assert response.status_code == 201


@pytest.mark.parametrize(
    "verdicts",
    [
        {"dkim": "FAIL", "spf": "FAIL"},
        {"dkim": "GRAY", "spf": "GRAY"},
        {"dmarc": "FAIL"},  # policy none: not quarantined, but not proof of the sender either
        {"dmarc": "FAIL", "dmarc_policy": "quarantine"},
    ],
)
def test_an_unauthenticated_mail_from_a_verified_address_owns_nothing(client, agent, verdicts):
    _, agent_headers = agent
    user = owner()
    outcome = inbound(client, mail(user.email), verdicts)
    assert outcome["result"] == "ticket_created"
    assert my_tickets(client, signed_in(user)) == []
    ticket = agent_case(client, agent_headers, outcome["ticket_id"])
    assert ticket["verified_sender"] is False and ticket["user_id"] is None


def test_one_passing_check_of_dkim_or_spf_is_enough(client):
    user = owner()
    assert inbound(client, mail(user.email), {"dkim": "FAIL", "spf": "PASS"})["result"] == "ticket_created"
    assert len(my_tickets(client, signed_in(user))) == 1


def test_the_acknowledgement_of_a_chinese_mail_from_a_stranger_is_in_chinese(client):
    sender = new_email("zh")
    inbound(client, eml("gbk_mail.eml", From=f"<{sender}>"))
    (ack,) = acks(sender)
    assert ack.subject.startswith("[tkt_") and "客服已收到您的邮件" in ack.subject
    english = new_email("en")
    inbound(client, mail(english))
    assert "Okpay support received your email" in acks(english)[0].subject


# --- verdicts --------------------------------------------------------------------------------------


def test_a_virus_is_dropped_without_a_trace(client, agent):
    _, agent_headers = agent
    sender = new_email()
    assert inbound(client, mail(sender), {"virus": "FAIL"}) == {"result": "ignored"}
    assert queue(client, agent_headers) == [] and queue(client, agent_headers, "quarantined") == []
    assert acks(sender) == []
    s3 = boto3.client("s3", region_name=get_settings().region)
    assert s3.list_objects_v2(Bucket=get_settings().mail_bucket).get("KeyCount", 0) == 0


def test_a_virus_already_stored_by_ses_is_deleted(stage):
    s3 = boto3.client("s3", region_name=get_settings().region)
    s3.put_object(Bucket=get_settings().mail_bucket, Key="inbound/abc", Body=b"raw")
    outcome = inbound_email.receive(mail("v@example.com").encode(), {"virus": "FAIL"}, DEC_1, raw_key="inbound/abc")
    assert outcome == {"result": "ignored"}
    assert s3.list_objects_v2(Bucket=get_settings().mail_bucket).get("KeyCount", 0) == 0


@pytest.mark.parametrize("verdicts", [{"spam": "FAIL"}, {"dmarc": "FAIL", "dmarc_policy": "reject"}])
def test_spam_and_dmarc_rejects_are_quarantined_for_agents_only(client, agent, verdicts):
    _, agent_headers = agent
    user = owner()
    outcome = inbound(client, mail(user.email, "Buy now"), {**verdicts, "dkim": "PASS"})
    assert outcome["result"] == "quarantined"
    assert acks(user.email) == []  # no acknowledgement
    assert queue(client, agent_headers) == []  # not in the active queue
    (held,) = queue(client, agent_headers, "quarantined")
    assert held["ticket_id"] == outcome["ticket_id"] and held["status"] == "quarantined"
    assert held["user_id"] is None and held["verified_sender"] is False
    assert my_tickets(client, signed_in(user)) == []
    # an agent who finds it genuine releases it
    response = set_status(client, agent_headers, outcome["ticket_id"], "open")
    assert response.status_code == 200 and body_of(response)["status"] == "open"


# --- threading -------------------------------------------------------------------------------------


def _ticket_with_ack(client, sender: str, verdicts: dict | None = None) -> tuple[str, outbox.OutboxMessage]:
    outcome = inbound(client, mail(sender, "First mail"), verdicts)
    assert outcome["result"] == "ticket_created"
    return outcome["ticket_id"], acks(sender)[0]


def test_a_mail_to_the_reply_address_is_added_to_its_ticket(client, agent):
    _, agent_headers = agent
    sender = new_email()
    ticket_id, ack = _ticket_with_ack(client, sender)
    assert inbound(client, mail(sender, "More details", subject="Re: anything", to=ack.reply_to)) == {
        "result": "message_added",
        "ticket_id": ticket_id,
    }
    assert [m["body"] for m in agent_case(client, agent_headers, ticket_id)["messages"]] == [
        "First mail",
        "More details",
    ]
    assert len(acks(sender)) == 1  # no second acknowledgement
    # the address in upper case (some servers do that) still verifies
    upper = ack.reply_to.upper()
    assert inbound(client, mail(sender, "Third", to=upper))["result"] == "message_added"


def test_a_forged_or_unknown_reply_token_opens_a_new_ticket(client, agent):
    _, agent_headers = agent
    sender = new_email()
    ticket_id, ack = _ticket_with_ack(client, sender)
    local, _, domain = ack.reply_to.partition("@")
    forged = f"{local[:-4]}{'aaaa' if not local.endswith('aaaa') else 'bbbb'}@{domain}"
    other_ticket = reply_address("tkt_" + "f" * 32)  # validly signed, no such ticket
    signed_elsewhere = ack.reply_to.replace("okpay.local", "evil.example")
    for address in (forged, other_ticket, signed_elsewhere):
        outcome = inbound(client, mail(sender, "Sneaky", to=address))
        assert outcome["result"] == "ticket_created" and outcome["ticket_id"] != ticket_id
    # even when the mail also names our message or the ticket number
    forged_with_subject = mail(sender, "Sneaky", subject=f"[{ticket_id}]", to=forged)
    assert inbound(client, forged_with_subject)["ticket_id"] != ticket_id
    assert len(agent_case(client, agent_headers, ticket_id)["messages"]) == 1


def test_in_reply_to_or_references_naming_our_email_threads_the_reply(client, agent):
    _, agent_headers = agent
    sender = new_email()
    ticket_id, _ = _ticket_with_ack(client, sender)
    (sent,) = moto_emails(sender)
    ours = f"<{sent.id.upper()}@ap-southeast-1.amazonses.com>"  # any case
    outcome = inbound(client, eml("gmail_reply.eml", From=f"<{sender}>", In_Reply_To=ours, References=ours))
    assert outcome == {"result": "message_added", "ticket_id": ticket_id}
    refs = f"<unrelated@mail.example.com> <{sent.id}@email.amazonses.com>"
    outcome = inbound(client, mail(sender, "Via references", headers=f"References: {refs}\r\n"))
    assert outcome == {"result": "message_added", "ticket_id": ticket_id}
    bodies = [m["body"] for m in agent_case(client, agent_headers, ticket_id)["messages"]]
    assert bodies[1].startswith("Yes, it was the 500 CNY transfer") and bodies[2] == "Via references"
    # a Message-ID we never sent threads nothing
    unknown = "<0100018f00000000-deadbeef-000000@ap-southeast-1.amazonses.com>"
    assert inbound(client, mail(sender, headers=f"In-Reply-To: {unknown}\r\n"))["result"] == "ticket_created"


def test_the_ticket_number_in_the_subject_threads_only_from_its_verified_owner(client, agent):
    _, agent_headers = agent
    user = owner()
    ticket_id, _ = _ticket_with_ack(client, user.email, {"dkim": "PASS"})
    subject = f"Re: [{ticket_id}] Okpay support received your email"
    assert inbound(client, mail(user.email, "Owner here", subject=subject), {"dkim": "PASS"}) == {
        "result": "message_added",
        "ticket_id": ticket_id,
    }
    # a stranger quoting the number, and the owner's address failing authentication, open new tickets
    stranger = inbound(client, mail(new_email(), "Let me in", subject=subject))
    spoofed = inbound(client, mail(user.email, "Spoofed", subject=subject), {"dkim": "FAIL", "spf": "FAIL"})
    for outcome in (stranger, spoofed):
        assert outcome["result"] == "ticket_created" and outcome["ticket_id"] != ticket_id
    # another verified customer naming it
    other = owner()
    assert inbound(client, mail(other.email, "Mine?", subject=subject))["ticket_id"] != ticket_id
    assert [m["body"] for m in agent_case(client, agent_headers, ticket_id)["messages"]] == ["First mail", "Owner here"]
    assert [t["ticket_id"] for t in my_tickets(client, signed_in(other))] != [ticket_id]


def test_an_unverified_senders_ticket_is_not_threaded_by_subject_even_from_the_same_address(client):
    sender = new_email()
    ticket_id, _ = _ticket_with_ack(client, sender)
    outcome = inbound(client, mail(sender, "Again", subject=f"Re: [{ticket_id}]"))
    assert outcome["result"] == "ticket_created" and outcome["ticket_id"] != ticket_id


def test_a_reply_reopens_a_solved_ticket_and_a_closed_one_takes_no_more(client, agent):
    _, agent_headers = agent
    sender = new_email()
    ticket_id, ack = _ticket_with_ack(client, sender)
    assert agent_reply(client, agent_headers, ticket_id, "Done.").status_code == 201
    assert set_status(client, agent_headers, ticket_id, "solved").status_code == 200
    assert inbound(client, mail(sender, "Not fixed", to=ack.reply_to))["result"] == "message_added"
    ticket = agent_case(client, agent_headers, ticket_id)
    assert ticket["status"] == "open"
    reopened = [e for e in ticket["events"] if e["action"] == "status_changed" and e["detail"]["cause"] == "reopened"]
    assert [(e["detail"]["from"], e["detail"]["to"]) for e in reopened] == [("solved", "open")]

    assert set_status(client, agent_headers, ticket_id, "closed").status_code == 200
    outcome = inbound(client, mail(sender, "Hello again", to=ack.reply_to))
    assert outcome["result"] == "ticket_created" and outcome["ticket_id"] != ticket_id
    assert len(agent_case(client, agent_headers, ticket_id)["messages"]) == 3


# --- agents answering by email ---------------------------------------------------------------------


def test_agent_replies_are_emailed_to_the_requester_with_the_reply_address(client, agent):
    _, agent_headers = agent
    sender = new_email()
    outcome = inbound(client, eml("qq_reply.eml", From=f"<{sender}>"))
    ticket_id = outcome["ticket_id"]
    assert agent_reply(client, agent_headers, ticket_id, "退款已到账，请查收。").status_code == 201
    reply = acks(sender)[0]
    assert reply.reply_to == acks(sender)[1].reply_to and reply.reply_to.startswith(f"support+t.{ticket_id}.")
    assert "退款已到账，请查收。" in reply.body and ticket_id in reply.subject  # in the ticket's language
    assert "客服就工单" in reply.body
    assert "好的，我已经收到退款了" not in reply.body  # the customer's mail is not quoted back
    # the customer answers that email; its Message-ID (SES's) threads it too
    sent = moto_emails(sender)[-1]
    again = mail(sender, "谢谢", headers=f"In-Reply-To: <{sent.id}@ap-southeast-1.amazonses.com>\r\n")
    assert inbound(client, again) == {"result": "message_added", "ticket_id": ticket_id}
    # solved: one more email with the reply address
    assert set_status(client, agent_headers, ticket_id, "solved").status_code == 200
    solved = acks(sender)[0]
    assert "已解决" in solved.subject and solved.reply_to == reply.reply_to


def test_an_owners_email_ticket_is_answered_at_the_verified_address(client, agent):
    _, agent_headers = agent
    user = owner()
    ticket_id, _ = _ticket_with_ack(client, user.email, {"dkim": "PASS"})
    assert agent_reply(client, agent_headers, ticket_id, "We found it.").status_code == 201
    latest = acks(user.email)[0]
    assert "We found it." in latest.body and latest.reply_to and f"+t.{ticket_id}." in latest.reply_to
    assert len(outbox.messages(user.phone)) == 0  # by email only: the requester wrote by email


def test_the_sla_job_escalates_an_ownerless_email_ticket(client, agent):
    _, agent_headers = agent
    clock.set_test_clock(DEC_1)
    ticket_id = inbound(client, mail(new_email()))["ticket_id"]
    response = post_json(client, "/_local/jobs/ticket_sla", {"now": "2026-12-02T10:30:00+08:00"})
    assert response.status_code == 200, response.body
    assert agent_case(client, agent_headers, ticket_id)["escalated"] is True


# --- duplicates and the daily cap ------------------------------------------------------------------


def test_the_same_mail_twice_is_one_ticket(client, agent):
    _, agent_headers = agent
    sender = new_email()
    raw = mail(sender)
    first = inbound(client, raw)
    assert first["result"] == "ticket_created"
    assert inbound(client, raw) == {"result": "duplicate", "ticket_id": first["ticket_id"]}
    # the Message-ID decides, whatever else differs (a re-sent copy)
    resent = raw.replace("My transfer", "My  transfer")
    assert inbound(client, resent)["result"] == "duplicate"
    assert len(acks(sender)) == 1 and len(queue(client, agent_headers)) == 1


def test_the_same_mail_delivered_in_parallel_is_processed_once(client, agent):
    _, agent_headers = agent
    sender = new_email()
    raw = mail(sender)
    results = run_together(*(lambda: inbound(client, raw) for _ in range(6)))
    assert sorted(r["result"] for r in results) == ["duplicate"] * 5 + ["ticket_created"]
    assert len({r.get("ticket_id") for r in results if r["result"] == "ticket_created"}) == 1
    assert len(acks(sender)) == 1 and len(queue(client, agent_headers)) == 1


def test_a_reply_delivered_in_parallel_is_added_once(client, agent):
    _, agent_headers = agent
    sender = new_email()
    ticket_id, ack = _ticket_with_ack(client, sender)
    raw = mail(sender, "Once only", to=ack.reply_to)
    results = run_together(*(lambda: inbound(client, raw) for _ in range(4)))
    assert sorted(r["result"] for r in results) == ["duplicate"] * 3 + ["message_added"]
    assert [m["body"] for m in agent_case(client, agent_headers, ticket_id)["messages"]] == ["First mail", "Once only"]


def test_a_mail_without_message_id_is_known_by_its_bytes(client, agent):
    _, agent_headers = agent
    sender = new_email()
    raw = mail(sender, "No id", message_id="")
    assert inbound(client, raw)["result"] == "ticket_created"
    assert inbound(client, raw)["result"] == "duplicate"
    assert inbound(client, mail(sender, "No id, other text", message_id=""))["result"] == "ticket_created"
    assert len(queue(client, agent_headers)) == 2


def test_at_most_ten_new_tickets_per_sender_a_day_even_in_parallel(client, agent):
    _, agent_headers = agent
    clock.set_test_clock(DEC_1)
    sender = new_email("flood")
    raws = [mail(sender, f"Mail {n}") for n in range(13)]
    results = run_together(*(lambda raw=raw: inbound(client, raw) for raw in raws))
    assert sorted(r["result"] for r in results) == ["ignored"] * 3 + ["ticket_created"] * 10
    assert len(queue(client, agent_headers)) == 10 and len(acks(sender)) == 10
    # another sender is not affected; replies to an existing ticket are not new tickets
    assert inbound(client, mail(new_email()))["result"] == "ticket_created"
    ticket_id = next(r["ticket_id"] for r in results if r["result"] == "ticket_created")
    assert inbound(client, mail(sender, "Reply", to=reply_address(ticket_id)))["result"] == "message_added"
    # the cap is per Beijing day: 23:59 the same day still capped, 00:00 the next day opens again
    clock.set_test_clock(datetime(2026, 12, 1, 15, 59, tzinfo=UTC))
    assert inbound(client, mail(sender))["result"] == "ignored"
    clock.set_test_clock(datetime(2026, 12, 1, 16, 0, tzinfo=UTC))
    assert inbound(client, mail(sender))["result"] == "ticket_created"


@pytest.mark.parametrize("sender", ["support@okpay.local", "no-reply@okpay.local"])
def test_mail_from_our_own_addresses_is_ignored(client, sender):
    assert inbound(client, mail(sender)) == {"result": "ignored"}
    assert acks(sender) == []


def test_the_outbox_lists_the_reply_address(client):
    sender = new_email()
    ticket_id = inbound(client, mail(sender))["ticket_id"]
    response = client.get(f"/_local/outbox?to={sender}")
    (item,) = body_of(response)["data"]
    assert item["reply_to"].startswith(f"support+t.{ticket_id}.")
    assert item["reply_to"].endswith("@" + SUPPORT.split("@")[1])


# --- failures and redeliveries ---------------------------------------------------------------------


def test_a_mail_with_no_text_still_opens_a_ticket(client, agent):
    _, agent_headers = agent
    raw = mail(new_email(), "", subject="")
    ticket = agent_case(client, agent_headers, inbound(client, raw)["ticket_id"])
    assert ticket["subject"] == "(no subject)" and [m["body"] for m in ticket["messages"]] == [""]


def test_an_acknowledgement_that_cannot_be_sent_does_not_lose_the_ticket(client, agent, monkeypatch):
    from chalicelib.adapters import notify

    _, agent_headers = agent

    def ses_down(*args, **kwargs):
        raise RuntimeError("SES is down")

    monkeypatch.setattr(notify, "send_email", ses_down)
    outcome = inbound(client, mail(new_email()))
    assert outcome["result"] == "ticket_created"
    assert agent_case(client, agent_headers, outcome["ticket_id"])["status"] == "new"
    assert agent_reply(client, agent_headers, outcome["ticket_id"], "Hello").status_code == 201


def test_a_mail_whose_processing_failed_is_processed_again_when_redelivered(stage, monkeypatch):
    from chalicelib.services.support import tickets

    raw = mail(new_email()).encode()
    real = tickets.new_ticket
    calls = []

    def fails_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("DynamoDB hiccup")
        return real(*args, **kwargs)

    monkeypatch.setattr(inbound_email, "new_ticket", fails_once)
    with pytest.raises(RuntimeError):
        inbound_email.receive(raw, {}, DEC_1)
    assert inbound_email.receive(raw, {}, DEC_1)["result"] == "ticket_created"
    assert inbound_email.receive(raw, {}, DEC_1)["result"] == "duplicate"


def test_a_claim_left_by_a_worker_that_died_is_taken_over_only_once_stale(stage, monkeypatch):
    raw = mail(new_email()).encode()
    monkeypatch.setattr(inbound_email._Inbound, "release", lambda self: None)  # the worker dies mid-way
    monkeypatch.setattr(inbound_email, "_process", lambda *args: (_ for _ in ()).throw(RuntimeError("killed")))
    with pytest.raises(RuntimeError):
        inbound_email.receive(raw, {}, DEC_1)
    monkeypatch.undo()
    assert inbound_email.receive(raw, {}, DEC_1 + timedelta(minutes=5)) == {"result": "duplicate"}  # still in flight
    assert inbound_email.receive(raw, {}, DEC_1 + timedelta(minutes=16))["result"] == "ticket_created"


def test_an_agent_never_handles_the_ticket_their_own_mail_opened(client, agent):
    agent_user, agent_headers = agent
    outcome = inbound(client, mail(agent_user.email, "My own wallet problem"), {"dkim": "PASS"})
    ticket = agent_case(client, agent_headers, outcome["ticket_id"])
    assert ticket["user_id"] == agent_user.user_id and ticket["verified_sender"] is True
    assert_error(agent_reply(client, agent_headers, outcome["ticket_id"]), 403, "own_case")
    assert_error(set_status(client, agent_headers, outcome["ticket_id"], "solved"), 403, "own_case")
