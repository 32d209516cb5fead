"""Support mail as real clients write it (tests/support/mail/*.eml): the subject and the new text an agent
reads, with quoted replies and signatures stripped, Chinese charsets, automatic mail, attachments and
mail that cannot be read."""

from __future__ import annotations

import json
from datetime import datetime

import boto3
import pytest
import requests

from chalicelib.adapters.config import get_settings
from chalicelib.services.support import mail_files
from chalicelib.services.support.mail_parsing import Attachment, strip_reply
from tests.helpers.http import assert_error, post_json
from tests.support.email_mail import agent_case, eml, inbound, mail

CASES = {
    "outlook_reply.eml": (
        "RE: Transfer not received",
        "Thanks, the transfer arrived this morning.\n\nBest regards\nLi Wei",
    ),
    "gmail_reply.eml": (
        "Re: [tkt_0123456789abcdef0123456789abcdef] Re: Transfer not received",
        "Yes, it was the 500 CNY transfer on Monday evening.\nThe reference is in the screenshot I sent before.",
    ),
    "apple_mail_reply.eml": (
        "Re: Payment I do not recognise",
        "Here are the details: it was paid to a merchant called 喜茶 at 14:05.\n\nI did not authorise it.",
    ),
    "qq_reply.eml": ("回复：退款什么时候到账", "好的，我已经收到退款了，谢谢你们的帮助！"),
    "gbk_mail.eml": (
        "账户无法登录（王喆）",
        "您好：\n\n我是王喆，我的账户昨天晚上突然无法登录，提示账户已被冻结。\n"
        "我的同事张堃也遇到了同样的问题，请尽快帮忙处理。\n\n王喆",
    ),
    "qp_utf8_reply.eml": (
        "Re: 转账没有到账",
        "您好，转账的时间是 12 月 1 日上午 9 点，金额 500 元。\n收款人是我的朋友李雷。",
    ),
}


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_an_agent_reads_the_subject_and_only_the_new_text(client, agent, fixture):
    _, agent_headers = agent
    subject, text = CASES[fixture]
    outcome = inbound(client, eml(fixture))
    assert outcome["result"] == "ticket_created"
    ticket = agent_case(client, agent_headers, outcome["ticket_id"])
    assert ticket["subject"] == subject
    assert [m["body"] for m in ticket["messages"]] == [text]
    assert ticket["source"] == "email" and ticket["status"] == "new" and ticket["category"] == "other"


def test_a_gb2312_mail_is_read_as_gbk_not_as_replacement_characters(client, agent):
    _, agent_headers = agent
    ticket = agent_case(client, agent_headers, inbound(client, eml("gbk_mail.eml"))["ticket_id"])
    assert "喆" in ticket["subject"] and "堃" in ticket["messages"][0]["body"]
    assert "\ufffd" not in ticket["subject"] + ticket["messages"][0]["body"]


def test_an_html_only_mail_is_reduced_to_text_without_its_quote(client, agent):
    _, agent_headers = agent
    raw = (
        "From: a@example.com\r\nTo: support@okpay.local\r\nSubject: HTML\r\nMessage-ID: <html-1@example.com>\r\n"
        "Content-Type: text/html; charset=UTF-8\r\n\r\n"
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        "<p>First line &amp; more</p><div>Second<br>Third</div>"
        '<div class="gmail_quote">On Mon someone wrote:<blockquote>old <b>text</b><br></blockquote></div>'
        "<p>After the quote</p></body></html>\r\n"
    )
    ticket = agent_case(client, agent_headers, inbound(client, raw)["ticket_id"])
    assert ticket["messages"][0]["body"] == "First line & more\nSecond\nThird\nAfter the quote"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Fixed now.\n\n-----Original Message-----\nFrom: Okpay\nSent: Monday\n\nHello", "Fixed now."),
        ("Fixed now.\n\nFrom: Okpay Support <support@okpay.local>\nSent: Monday\nTo: me\n\nHello", "Fixed now."),
        ("收到\n\n发件人: Okpay 客服\n发送时间: 2026年12月1日\n收件人: 我\n\n您好", "收到"),
        ("Thanks\n\nOn Dec 1, 2026, at 10:02 AM, Okpay <support@okpay.local> wrote:\n\n> Hello", "Thanks"),
        ("Thanks\nSent from my iPhone", "Thanks"),
        ("谢谢\n\n发自我的iPhone", "谢谢"),
        ("Answer inline:\n> question one\nyes\n> question two\nno", "Answer inline:\nyes\nno"),
        ("> all of it is quoted\n> nothing new", "> all of it is quoted\n> nothing new"),
        ("-- \nonly a signature", "-- \nonly a signature"),
        (
            "From: a shop I paid yesterday, the amount was wrong.",
            "From: a shop I paid yesterday, the amount was wrong.",
        ),
    ],
)
def test_quoted_replies_and_signatures_are_stripped_but_never_the_whole_text(text, expected):
    assert strip_reply(text) == expected


@pytest.mark.parametrize("fixture", ["bounce_dsn.eml", "out_of_office.eml"])
def test_bounces_and_auto_replies_are_ignored(client, agent, fixture):
    _, agent_headers = agent
    assert inbound(client, eml(fixture)) == {"result": "ignored"}
    assert client.get("/admin/tickets", headers=agent_headers).json_body["data"] == []


@pytest.mark.parametrize(
    "header, result",
    [
        ("Auto-Submitted: auto-generated\r\n", "ignored"),
        ("Auto-Submitted: no\r\n", "ticket_created"),
        ("Precedence: bulk\r\n", "ignored"),
        ("Precedence: list\r\n", "ignored"),
        ("Precedence: junk\r\n", "ignored"),
        ("Return-Path: <>\r\n", "ignored"),
        ("Return-Path: <someone@example.com>\r\n", "ticket_created"),
    ],
)
def test_automatic_mail_is_told_by_its_headers(client, header, result):
    assert inbound(client, mail("someone@example.com", headers=header))["result"] == result


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "\x00\x01\x02 not a mail at all",
        "Subject: no sender\r\n\r\nHello",
        "From: not-an-address\r\nSubject: x\r\n\r\nHello",
        "From: =?utf-8?B?!!!broken?= <>\r\nContent-Type: multipart/mixed\r\n\r\n--x",
    ],
)
def test_a_mail_that_cannot_be_read_is_ignored_and_logged_without_its_content(client, agent, log_lines, raw):
    _, agent_headers = agent
    if not raw:  # an empty raw is malformed JSON input, not a mail
        assert_error(post_json(client, "/_local/inbound-email", {"raw": raw}), 400, "validation_error", field="raw")
        return
    assert inbound(client, raw) == {"result": "ignored"}
    lines = [json.loads(line) for line in log_lines() if "inbound mail ignored" in line]
    assert lines and all("Hello" not in json.dumps(line) for line in lines)
    assert client.get("/admin/tickets", headers=agent_headers).json_body["data"] == []


@pytest.mark.parametrize("raw", [123, None, ["From: a@b.c"], {"x": 1}])
def test_a_raw_that_is_not_a_string_is_a_validation_error(client, raw):
    assert_error(post_json(client, "/_local/inbound-email", {"raw": raw}), 400, "validation_error", field="raw")


def test_unknown_verdicts_are_a_validation_error(client):
    response = post_json(client, "/_local/inbound-email", {"raw": mail("a@example.com"), "verdicts": {"spam": "MAYBE"}})
    assert_error(response, 400, "validation_error")


# --- attachments -----------------------------------------------------------------------------------


def test_a_jpeg_and_a_pdf_are_kept_privately_and_listed_for_agents_and_a_fake_jpeg_is_skipped(client, agent):
    _, agent_headers = agent
    ticket = agent_case(client, agent_headers, inbound(client, eml("attachments.eml"))["ticket_id"])
    (message,) = ticket["messages"]
    assert message["body"] == "Please see the screenshot of the transfer and my bank statement attached."
    files = message["attachments"]
    assert [(f["name"], f["content_type"], f["size"]) for f in files] == [
        ("转账截图.jpg", "image/jpeg", 86),
        ("statement.pdf", "application/pdf", 77),
    ]
    assert all(f["expires_in"] == 300 for f in files)
    downloaded = [requests.get(f["url"], timeout=30).content for f in files]
    assert downloaded[0].startswith(b"\xff\xd8\xff") and downloaded[1].startswith(b"%PDF-")
    assert [len(d) for d in downloaded] == [86, 77]
    assert message["skipped_attachments"] == [
        {"name": "invoice.jpg", "content_type": "image/jpeg", "size": 64, "reason": "type"}
    ]
    s3 = boto3.client("s3", region_name=get_settings().region)
    bucket = get_settings().mail_bucket
    stored = s3.list_objects_v2(Bucket=bucket, Prefix=f"attachments/{ticket['ticket_id']}/")["Contents"]
    assert sorted(o["Size"] for o in stored) == [77, 86]
    first = s3.get_object(Bucket=bucket, Key=sorted(o["Key"] for o in stored)[0])["Body"].read()
    assert first.startswith(b"\xff\xd8\xff")  # the jpeg's own bytes, not anything else in the mail
    # the customer's view of the same message lists no files
    assert "attachments" not in ticket["messages"][0] or ticket.get("user_id") is None


def test_files_over_10_mb_or_of_other_types_are_skipped(stage):
    big_pdf = b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024)
    exactly = b"\x89PNG\r\n\x1a\n" + b"0" * (10 * 1024 * 1024 - 8)
    files = [
        Attachment("big.pdf", "application/pdf", big_pdf),
        Attachment("ok.png", "image/png", exactly),
        Attachment("notes.docx", "application/vnd.openxmlformats", b"PK\x03\x04rest"),
        Attachment("page.html", "text/html", b"<html>"),
    ]
    kept, skipped = mail_files.keep_attachments(files, "tkt_" + "a" * 32, "msg_1")
    assert [(k["name"], k["size"]) for k in kept] == [("ok.png", 10 * 1024 * 1024)]
    assert [(s["name"], s["reason"]) for s in skipped] == [
        ("big.pdf", "size"),
        ("notes.docx", "type"),
        ("page.html", "type"),
    ]


def test_the_raw_mail_is_kept_in_the_mail_bucket(client):
    inbound(client, mail("keep@example.com", "Keep me"))
    s3 = boto3.client("s3", region_name=get_settings().region)
    listed = s3.list_objects_v2(Bucket=get_settings().mail_bucket, Prefix="raw/").get("Contents", [])
    bodies = [s3.get_object(Bucket=get_settings().mail_bucket, Key=o["Key"])["Body"].read() for o in listed]
    assert any(b"Keep me" in body for body in bodies)
    assert all(o["Key"].startswith(f"raw/{datetime.now().year}") or o["Key"].startswith("raw/") for o in listed)
