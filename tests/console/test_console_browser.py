"""The support console in a real browser (Debian's chromium, driven by Playwright) against the real
local stage: an agent signs in with TOTP, takes a live chat a customer opened from a WebSocket
client, approves a KYC case and answers a dispute. The page may not log an error or a CSP
violation, and never keeps a token in storage or cookies."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from localstage.seed import AGENT_EMAIL, AGENT_PASSWORD, AGENT_TOTP_SECRET
from tests.console import people
from tests.helpers.browser import chromium_page
from tests.helpers.mfa import next_totp
from tests.helpers.paths import PROJECT_DIR

SCREENSHOTS = PROJECT_DIR / "build" / "screenshots"
QUEUE_SCREENSHOT = PROJECT_DIR / "docs" / "console-queue.png"
WAIT = 20_000  # ms a live update may take to show


@dataclass
class Console:
    """The agent's page, what it logged, and the access tokens it sent."""

    page: Any
    base: str
    problems: list[str] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    sent: list[tuple[str, str, dict]] = field(default_factory=list)  # (method, url, headers) of API calls

    def refresh_queue(self) -> None:
        self.page.wait_for_selector("#dialog:not([open])", state="attached")
        self.page.click("#queue-refresh")
        self.page.wait_for_load_state("networkidle")
        self.page.click(".queue-tabs button >> nth=0")  # every kind

    def open(self, key: str) -> None:
        row = self.page.locator(f'#queue-list li[data-key="{key}"]')
        try:
            row.wait_for(timeout=WAIT)
        except Exception:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / "console-failure.png"))
            raise
        row.click()
        self.page.wait_for_selector(f'#case .case-head .mono[title="{key.split(":", 1)[1]}"]', timeout=WAIT)

    def toast(self, text: str) -> None:
        self.page.locator("#toasts .toast", has_text=text).first.wait_for(timeout=WAIT)
        self.page.wait_for_selector("#dialog:not([open])", state="attached")  # the dialog that caused it has closed


def watch(page: Any, base: str) -> Console:
    console = Console(page, base)
    page.on("console", lambda message: console.problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: console.problems.append(str(error)))

    def seen(request: Any) -> None:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            console.tokens.add(header.removeprefix("Bearer "))
        console.sent.append((request.method, request.url, request.headers))
        if not request.url.startswith((base, "ws://127.0.0.1", "http://127.0.0.1")):
            console.problems.append(f"request to another origin: {request.url}")

    page.on("request", seen)
    return console


def sign_in(console: Console) -> None:
    page = console.page
    page.goto(f"{console.base}/console")
    page.fill("#signin-password [name=login]", AGENT_EMAIL)
    page.fill("#signin-password [name=password]", AGENT_PASSWORD)
    page.press("#signin-password [name=password]", "Enter")
    page.wait_for_selector("#signin-mfa:not([hidden])", timeout=WAIT)
    page.fill("#signin-mfa [name=code]", next_totp(AGENT_TOTP_SECRET))
    page.press("#signin-mfa [name=code]", "Enter")
    page.wait_for_selector("#workspace:not([hidden])", timeout=WAIT)
    page.wait_for_selector("#socket-state[data-state=live]", timeout=WAIT)


@pytest.fixture(scope="module")
def console(live_stage) -> Iterator[Console]:
    with chromium_page(viewport=(1440, 900)) as page:
        agent = watch(page, live_stage.base)
        sign_in(agent)
        yield agent


@pytest.fixture(autouse=True)
def _no_errors_in_the_page(request):
    yield
    if "console" in request.fixturenames:
        agent = request.getfixturevalue("console")
        assert agent.problems == [], agent.problems


@pytest.fixture(scope="module")
def second_agent(live_stage) -> str:
    return people.second_agent(live_stage.base)


# --- the user's side of a live chat: a websockets client ---------------------------------------


def user_socket(base: str, token: str) -> ClientConnection:
    ticket = people.ok(people.call(base, "POST", "/support/chats/ws-ticket", {}, token), 201)
    return connect(f"{ticket['url']}?ticket={ticket['ticket']}", open_timeout=10)


def next_frame(socket: ClientConnection, wanted: Callable[[dict], bool], timeout: float = 20) -> dict:
    """The first frame `wanted` accepts; frames before it are skipped (returned in the error if none)."""
    deadline, skipped = time.monotonic() + timeout, []
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = json.loads(socket.recv(timeout=left))
        except TimeoutError:
            break
        if wanted(frame):
            return frame
        skipped.append(frame)
    raise AssertionError(f"no such frame within {timeout} s; got {skipped}")


# --- scenarios -----------------------------------------------------------------------------------


def test_the_agent_signs_in_with_totp_and_the_page_is_locked_down(console, live_stage):
    page = console.page
    assert page.inner_text("#agent-name") == "Okpay 客服"
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_attribute("[data-presence=online]", "aria-pressed") == "true"
    response = page.request.get(f"{live_stage.base}/console")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "default-src 'none'" in policy and "unsafe" not in policy
    assert f"connect-src 'self' ws://127.0.0.1:{live_stage.port + 1};" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    # the tokens live in the page's memory only
    assert console.tokens, "no signed-in request seen"
    stored = page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])"
    )
    assert not any(token in stored for token in console.tokens), stored
    assert "access_token" not in stored and "refresh_token" not in stored


def test_amounts_are_shown_from_minor_units_with_the_currency_exponent(console):
    shown = console.page.evaluate(
        """async () => {
            const { money, parseAmount } = await import("./console/format.js");
            return [
                money(123456, "CNY"), money(5, "USD"), money(1500, "JPY"), money(100000000000000, "EUR"),
                parseAmount("12.5", "CNY"), parseAmount("1,234.56", "HKD"), parseAmount("12.345", "USD"),
                parseAmount("1500", "JPY"), parseAmount("15.5", "JPY"), parseAmount("0", "CNY"),
            ];
        }"""
    )
    assert shown == [
        "CNY 1,234.56",
        "USD 0.05",
        "JPY 1,500",
        "EUR 1,000,000,000,000.00",
        1250,
        123456,
        None,
        1500,
        None,
        None,
    ]


def test_a_live_chat_both_ways_in_real_time(console, live_stage):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    base, page = live_stage.base, console.page
    customer = people.register(base, "Li Wei")
    with user_socket(base, customer["access_token"]) as socket:
        chat = people.open_chat(base, customer["access_token"], "My transfer to my sister is stuck.")
        key = f"chat:{chat['chat_id']}"
        # chat.waiting reaches the online agent: the queue shows it without a reload
        console.toast("New chat waiting")
        console.open(key)
        assert "My transfer to my sister is stuck." in page.inner_text("#case .thread")
        page.keyboard.press("a")  # accept
        page.wait_for_selector("#case .case-head .status-active", timeout=WAIT)
        next_frame(socket, lambda f: f["type"] == "chat.updated" and f["chat"]["status"] == "active")

        # the user writes over REST: it appears in the console at once
        body = {"body": "It says pending since 10:02.", "client_msg_id": uuid.uuid4().hex}
        people.ok(
            people.call(base, "POST", f"/support/chats/{chat['chat_id']}/messages", body, customer["access_token"])
        )
        page.locator("#case .thread .msg.from-user", has_text="It says pending since 10:02.").wait_for(timeout=WAIT)

        # the user types: the console shows it
        socket.send(json.dumps({"type": "typing", "chat_id": chat["chat_id"]}))
        page.wait_for_selector("#typing:not([hidden])", timeout=WAIT)

        # an internal note never reaches the user; the reply does, as message.new
        assert page.evaluate("document.activeElement.id") == "reply"  # accepting put the cursor in the reply
        page.keyboard.press("Escape")
        page.keyboard.press("n")
        assert page.is_checked("#reply-internal")
        page.fill("#reply", "Bank side delay, checked the ledger.")
        page.keyboard.press("Enter")
        page.locator("#case .thread .msg.internal", has_text="Bank side delay").wait_for(timeout=WAIT)
        page.keyboard.press("Escape")
        page.keyboard.press("n")  # back to a reply; the cursor stays in the box
        assert not page.is_checked("#reply-internal")
        page.keyboard.type("Thanks for waiting: the bank confirms it arrives within the hour.")
        agent_typing = next_frame(socket, lambda f: f["type"] == "typing" and f.get("sender") == "agent")
        assert agent_typing == {"type": "typing", "chat_id": chat["chat_id"], "sender": "agent"}
        page.keyboard.press("Enter")
        frame = next_frame(socket, lambda f: f["type"] == "message.new" and f["message"]["sender"] == "agent")
        assert frame["chat_id"] == chat["chat_id"]
        assert frame["message"]["body"] == "Thanks for waiting: the bank confirms it arrives within the hour."
        assert "internal" not in frame["message"]
        page.locator("#case .thread .msg.from-agent", has_text="Thanks for waiting").wait_for(timeout=WAIT)
    page.screenshot(path=str(SCREENSHOTS / "console-chat.png"))
    transcript = people.ok(
        people.call(base, "GET", f"/support/chats/{chat['chat_id']}/messages", None, customer["access_token"])
    )
    bodies = [message["body"] for message in transcript["data"]]
    assert "Bank side delay, checked the ledger." not in bodies
    assert bodies[-1] == "Thanks for waiting: the bank confirms it arrives within the hour."


def test_the_agent_approves_a_kyc_case_with_its_documents_shown(console, live_stage):
    base, page = live_stage.base, console.page
    customer = people.register(base, "Chan Tai Man")
    document_id = people.upload_document(base, customer["access_token"], "id_front")
    people.submit_passport(base, customer["access_token"], "CHAN TAI MAN", "K12345678", [document_id])
    console.refresh_queue()
    page.keyboard.press("5")  # KYC only
    console.open(f"kyc:{customer['user_id']}")
    assert "CHAN TAI MAN" in page.inner_text("#case .case-head")
    # the scan is shown inline from the bucket's pre-signed link (the policy's img-src allows it)
    scan = page.locator("#case .document img")
    scan.wait_for(timeout=WAIT)
    page.wait_for_function("() => document.querySelector('#case .document img').naturalWidth === 320", timeout=WAIT)
    assert scan.get_attribute("alt") == "ID front"
    page.screenshot(path=str(SCREENSHOTS / "console-kyc.png"))
    page.keyboard.press("a")  # approve
    page.wait_for_selector("#dialog[open]")
    assert page.input_value("#dialog select[name=level]") == "1"
    page.click("#dialog button[type=submit]")
    console.toast("Verification approved")
    kyc = people.ok(people.call(base, "GET", "/me/kyc", None, customer["access_token"]))
    assert (kyc["status"], kyc["level"]) == ("approved", 1)
    assert page.locator(f'#queue-list li[data-key="kyc:{customer["user_id"]}"]').count() == 0
    page.keyboard.press("1")


def test_the_agent_answers_a_dispute_from_the_keyboard(console, live_stage, second_agent):
    base, page = live_stage.base, console.page
    customer, transaction_id = people.paying_customer(base, second_agent, "王芳")
    dispute = people.file_dispute(base, customer["access_token"], transaction_id)
    console.refresh_queue()
    page.keyboard.press("4")  # disputes only
    page.focus("#queue-list")
    key = f"dispute:{dispute['dispute_id']}"
    for _ in range(20):  # j moves down the queue to it; Enter opens it
        if page.get_attribute(f'#queue-list li[data-key="{key}"]', "aria-selected") == "true":
            break
        page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_selector(f'#case .case-head .mono[title="{dispute["dispute_id"]}"]', timeout=WAIT)
    assert "CNY 88.00" in page.inner_text("#case .case-head")
    page.keyboard.press("r")
    page.keyboard.type("We are checking with the merchant and will reply within 3 working days.")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#case .case-head .status-under_review", timeout=WAIT)
    page.locator("#case .thread .msg.from-agent", has_text="checking with the merchant").wait_for(timeout=WAIT)
    assert page.input_value("#reply") == ""  # sent, so not kept as a draft
    seen = people.ok(people.call(base, "GET", f"/disputes/{dispute['dispute_id']}", None, customer["access_token"]))
    assert seen["status"] == "under_review"
    assert seen["messages"][-1]["body"].startswith("We are checking with the merchant")
    # more time, with the reason the customer is told; the date picker suggests a week from now
    page.click("#case .case-actions button:has-text('Extend')")
    page.fill("#dialog textarea[name=reason]", "The merchant needs a week to trace the parcel.")
    page.click("#dialog button[type=submit]")
    console.toast("Resolution date extended")
    seen = people.ok(people.call(base, "GET", f"/disputes/{dispute['dispute_id']}", None, customer["access_token"]))
    assert seen["resolve_by"] is not None
    page.keyboard.press("1")


def test_the_agent_answers_a_ticket_and_sets_its_status(console, live_stage):
    base, page = live_stage.base, console.page
    customer = people.register(base, "Chen Jie")
    ticket = people.open_ticket(
        base, customer["access_token"], "Change my phone number", "I lost my old SIM.", "security"
    )
    console.refresh_queue()
    console.open(f"ticket:{ticket['ticket_id']}")
    assert "I lost my old SIM." in page.inner_text("#case .thread")
    page.keyboard.press("r")
    page.keyboard.type("Please sign in on the new phone; we will move the number after a video check.")
    page.keyboard.press("Control+Enter")
    page.locator("#case .thread .msg.from-agent", has_text="video check").wait_for(timeout=WAIT)
    page.click("#case .segmented button:has-text('Pending')")
    page.wait_for_selector("#case .case-head .status-pending", timeout=WAIT)
    seen = people.ok(
        people.call(base, "GET", f"/support/tickets/{ticket['ticket_id']}", None, customer["access_token"])
    )
    assert seen["status"] == "pending"
    assert seen["messages"][-1]["body"].startswith("Please sign in on the new phone")


def test_an_email_ticket_shows_its_unverified_sender_and_quarantine_is_reachable(console, live_stage):
    base, page = live_stage.base, console.page
    sender = f"stranger{uuid.uuid4().hex[:8]}@example.com"

    def mail(subject: str) -> str:
        return (
            f"From: Stranger <{sender}>\r\nTo: support@okpay.local\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@example.com>\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
            "Please call me back about my account.\r\n"
        )

    created = people.ok(people.call(base, "POST", "/_local/inbound-email", {"raw": mail("Call me back")}))
    held = people.ok(
        people.call(base, "POST", "/_local/inbound-email", {"raw": mail("Cheap pills"), "verdicts": {"spam": "FAIL"}})
    )
    assert (created["result"], held["result"]) == ("ticket_created", "quarantined")
    console.refresh_queue()
    console.open(f"ticket:{created['ticket_id']}")
    head = page.inner_text("#case .case-head")
    assert sender in head and "unverified sender" in head and "Email" in head
    assert "Please call me back about my account." in page.inner_text("#case .thread")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-email-ticket.png"))
    console.open(f"ticket:{held['ticket_id']}")
    page.wait_for_selector("#case .case-head .status-quarantined", timeout=WAIT)
    assert "left" not in page.inner_text(f'#queue-list li[data-key="ticket:{held["ticket_id"]}"]')  # no SLA clock
    page.screenshot(path=str(SCREENSHOTS / "console-quarantined.png"))
    page.click("#case .segmented button:has-text('Closed')")
    page.wait_for_selector("#case .case-head .status-closed", timeout=WAIT)


def test_a_refund_sends_a_fresh_idempotency_key_per_attempt(console, live_stage, second_agent):
    base, page = live_stage.base, console.page
    customer, transaction_id = people.paying_customer(base, second_agent, "Wu Fang", amount=4_550)
    dispute = people.file_dispute(base, customer["access_token"], transaction_id, "duplicate")
    console.refresh_queue()
    console.open(f"dispute:{dispute['dispute_id']}")
    page.click("#case .case-actions button:has-text('Refund')")
    page.wait_for_selector("#dialog[open]")
    assert page.input_value("#dialog input[name=amount]") == "45.50"
    page.fill("#dialog input[name=amount]", "45.555")  # not an amount in CNY: refused before any call
    page.fill("#dialog textarea[name=note]", "Charged twice: the second charge is refunded.")
    page.click("#dialog button[type=submit]")
    page.wait_for_selector("#dialog .form-error:not([hidden])")
    page.fill("#dialog input[name=amount]", "45.50")
    page.click("#dialog button[type=submit]")
    page.wait_for_selector("#case .case-head .status-refunded", timeout=WAIT)
    resolves = [headers for method, url, headers in console.sent if url.endswith(f"{dispute['dispute_id']}/resolve")]
    assert len(resolves) == 1 and len(resolves[0]["idempotency-key"]) == 36  # a UUID
    seen = people.ok(people.call(base, "GET", f"/disputes/{dispute['dispute_id']}", None, customer["access_token"]))
    assert (seen["status"], seen["refund_amount"]) == ("refunded", 4_550)


def test_a_large_refund_another_agent_asked_for_is_approved_here(console, live_stage, second_agent):
    base, page = live_stage.base, console.page
    customer, transaction_id = people.paying_customer(base, second_agent, "Sun Li", amount=600_000, level=2)
    dispute = people.file_dispute(base, customer["access_token"], transaction_id, "unauthorized")
    resolve = {"outcome": "refunded", "note": "Card used without the customer's consent."}
    asked = people.call(
        base,
        "POST",
        f"/admin/disputes/{dispute['dispute_id']}/resolve",
        resolve,
        second_agent,
        **{"Idempotency-Key": "k1"},
    )
    assert (asked.status, asked.body["status"]) == (202, "awaiting_approval"), asked.body
    console.refresh_queue()
    console.open(f"dispute:{dispute['dispute_id']}")
    assert "CNY 6,000.00" in page.inner_text("#case .case-head")
    page.click("#case .case-actions button:has-text('Approve refund')")
    page.wait_for_selector("#case .case-head .status-refunded", timeout=WAIT)
    seen = people.ok(people.call(base, "GET", f"/disputes/{dispute['dispute_id']}", None, customer["access_token"]))
    assert seen["status"] == "refunded"


def test_the_agent_finds_a_customer_and_freezes_then_unfreezes_the_account(console, live_stage, second_agent):
    base, page = live_stage.base, console.page
    customer = people.register(base, "Guo Ping")
    page.keyboard.press("Escape")  # out of any text field: the keys are shortcuts again
    page.keyboard.press("/")
    page.keyboard.type(customer["email"])
    page.keyboard.press("Enter")
    page.locator("#customer .customer-name", has_text="Guo Ping").wait_for(timeout=WAIT)
    page.click("#customer button:has-text('Freeze account')")
    page.fill("#dialog textarea[name=reason]", "Customer called: phone stolen at the station.")
    page.click("#dialog button[type=submit]")
    page.wait_for_selector("#customer .freeze.is-frozen", timeout=WAIT)
    assert "phone stolen" in page.inner_text("#customer .freeze")
    seen = people.ok(people.call(base, "GET", f"/admin/users/{customer['user_id']}", None, second_agent))
    assert seen["status"] == "frozen" and seen["freeze"]["by"] == "agent"
    page.click("#customer button:has-text('Unfreeze account')")
    page.fill("#dialog textarea[name=reason]", "Identity confirmed by video call.")
    page.click("#dialog button[type=submit]")
    page.wait_for_selector("#customer .freeze:not(.is-frozen)", timeout=WAIT)
    assert (
        people.ok(people.call(base, "GET", f"/admin/users/{customer['user_id']}", None, second_agent))["status"]
        == "active"
    )


def test_the_queue_screenshot(console, live_stage, second_agent):
    """docs/console-queue.png: a working queue (chats, tickets, disputes, KYC) with a dispute open."""
    base, page = live_stage.base, console.page
    buyer, paid = people.paying_customer(base, second_agent, "陈静", amount=32_900)
    dispute = people.file_dispute(
        base, buyer["access_token"], paid, "unauthorized", "这笔 329 元的付款不是我本人操作的，请尽快处理。"
    )
    other, paid_twice = people.paying_customer(base, second_agent, "Li Wei", amount=12_050)
    people.file_dispute(
        base, other["access_token"], paid_twice, "incorrect_amount", "Charged 120.50, the receipt says 102.50."
    )
    people.open_ticket(
        base, buyer["access_token"], "无法绑定银行卡", "绑定招商银行卡时一直提示失败，请帮忙看看。", "payment"
    )
    people.open_ticket(base, other["access_token"], "Change my phone number", "I lost my old SIM card.", "security")
    for name, year, sequence in (("周琳", 1995, "023"), ("马涛", 1979, "031")):
        applicant = people.register(base, name)
        people.submit_kyc(base, applicant["access_token"], year, sequence, real_name=name)
    asker = people.register(base, "Zhang Min")
    people.open_chat(base, asker["access_token"], "Hi, my top-up from ICBC has not arrived yet.", "payment")
    people.ok(
        people.call(
            base,
            "POST",
            f"/disputes/{dispute['dispute_id']}/messages",
            {"body": "我的卡一直在身上，没有借给别人。"},
            buyer["access_token"],
        ),
        201,
    )
    console.refresh_queue()
    page.keyboard.press("1")
    console.open(f"dispute:{dispute['dispute_id']}")
    page.wait_for_selector("#customer .transactions", timeout=WAIT)
    page.evaluate("document.querySelectorAll('#toasts .toast').forEach((toast) => toast.remove())")
    page.fill("#lookup [name=q]", "")
    page.focus("#queue-list li[aria-selected=true]")
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    QUEUE_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(QUEUE_SCREENSHOT))
    assert page.locator("#queue-list li[data-key]").count() >= 6


def test_the_console_speaks_chinese_to_a_chinese_browser(console, live_stage):
    """A second browser context (the module's browser is already running) with a Chinese locale."""
    context = console.page.context.browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        chinese = watch(page, live_stage.base)
        page.goto(f"{live_stage.base}/console")
        assert page.get_attribute("html", "lang") == "zh-CN"
        assert page.inner_text("#signin-password h1") == "客服登录"
        page.fill("#signin-password [name=login]", AGENT_EMAIL)
        page.fill("#signin-password [name=password]", "wrong-password-1")
        page.press("#signin-password [name=password]", "Enter")
        error = page.locator("#signin-password .form-error")
        error.wait_for(timeout=WAIT)
        assert any("\u4e00" <= char <= "\u9fff" for char in error.inner_text())  # the API's message, in Chinese
        chinese.problems = [p for p in chinese.problems if "401" not in p]  # the refused login itself
        sign_in(chinese)
        page.wait_for_selector(".queue-tabs button", timeout=WAIT)
        assert page.inner_text(".queue-tabs button >> nth=0").startswith("全部")
        assert page.inner_text("#signout") == "退出登录"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "console-zh.png"))
        assert chinese.problems == [], chinese.problems
    finally:
        context.close()
