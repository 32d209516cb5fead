"""Reading an inbound support mail (RFC 5322) into what a ticket needs: who sent it, to whom, its
subject, its new text (quoted reply and signature stripped), its attachments and whether it is an
automatic message.

The standard library's `email` package with `policy.default` does the MIME work. Chinese mail is
decoded as it is really written: a declared `gb2312` (or `gbk`) is read as `gb18030`, its superset,
because mail clients declare gb2312 and use GBK characters. Header values are decoded from their raw
form for the same reason. `parse` raises `UnreadableMail` for a message it cannot make sense of;
nothing else escapes.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import EmailMessage
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import ClassVar

MAX_TEXT = 20_000  # characters kept of a body (a DynamoDB item holds 400 KB)
MAX_SUBJECT = 200

# Charsets read as a superset: what Chinese mail declares is not always what it uses.
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "ascii": "utf-8",
    "us-ascii": "utf-8",
}


class UnreadableMail(Exception):
    """The message could not be parsed into a sender and a body."""


@dataclass(frozen=True)
class Attachment:
    name: str
    declared_type: str
    data: bytes


@dataclass
class ParsedMail:
    message_id: str  # normalised: lower case, without <>; derived from the bytes when absent
    sender: str  # the From address, lower case
    recipients: list[str]  # To, Cc and the delivery headers, lower case
    subject: str
    text: str  # the new text: quoted reply and signature stripped
    references: list[str]  # In-Reply-To and References, normalised like message_id
    automatic: bool  # an auto-reply, a bounce, a list or bulk mail
    attachments: list[Attachment] = field(default_factory=list)


# --- the message ----------------------------------------------------------------------------------


def parse(raw: bytes) -> ParsedMail:
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        if not isinstance(message, EmailMessage) or (message.defects and not message.keys()):
            raise UnreadableMail("no headers")
        headers = _raw_headers(message)
        sender = _sender(headers.get("from", []))
        if not sender:
            raise UnreadableMail("no sender")
        body, attachments = _body_and_attachments(message)
        return ParsedMail(
            message_id=_message_id(headers, raw),
            sender=sender,
            recipients=_recipients(headers),
            subject=_subject(headers.get("subject", [])),
            text=strip_reply(body),
            references=_references(headers),
            automatic=_is_automatic(message, headers),
            attachments=attachments,
        )
    except UnreadableMail:
        raise
    except Exception as error:  # any defect the parser trips over: the mail is unreadable, not us broken
        raise UnreadableMail(type(error).__name__) from None


def _raw_headers(message: EmailMessage) -> dict[str, list[str]]:
    """Header values as sent (unfolded), by lower-case name; decoded later, each our way."""
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.lower(), []).append(re.sub(r"\r?\n[ \t]+", " ", str(value)).strip())
    return headers


def decode_header_value(value: str) -> str:
    """RFC 2047 encoded words in any charset (gb2312 read as gb18030), and raw 8-bit UTF-8 or GBK."""
    parts = []
    for chunk, charset in decode_header(value):
        if isinstance(chunk, str):
            parts.append(_undo_surrogates(chunk))
        else:
            parts.append(decode_bytes(chunk, charset))
    return "".join(parts)


def _undo_surrogates(text: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes: decode them for real."""
    if not any("\udc80" <= c <= "\udcff" for c in text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"), None)


def decode_bytes(data: bytes, charset: str | None) -> str:
    name = (charset or "").strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    if name:
        try:
            return data.decode(name, errors="replace")
        except LookupError:  # a charset Python does not know
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _sender(values: list[str]) -> str:
    for _, address in getaddresses([decode_header_value(v) for v in values[:1]]):
        address = address.strip().lower()
        if re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address):
            return address
    return ""


def _recipients(headers: dict[str, list[str]]) -> list[str]:
    values = [v for name in ("to", "cc", "delivered-to", "x-original-to", "envelope-to") for v in headers.get(name, [])]
    return [address.strip().lower() for _, address in getaddresses(values) if "@" in address]


def _subject(values: list[str]) -> str:
    subject = " ".join(decode_header_value(values[0]).split()) if values else ""
    return subject[:MAX_SUBJECT]


def normalise_message_id(value: str) -> str:
    return value.strip().strip("<>").strip().lower()


def _message_id(headers: dict[str, list[str]], raw: bytes) -> str:
    found = re.search(r"<([^<>\s]+)>", " ".join(headers.get("message-id", [])[:1]))
    if found:
        return normalise_message_id(found.group(1))
    return f"sha256-{hashlib.sha256(raw).hexdigest()}@derived.okpay"


def _references(headers: dict[str, list[str]]) -> list[str]:
    values = headers.get("in-reply-to", []) + headers.get("references", [])
    found = [normalise_message_id(m) for v in values for m in re.findall(r"<([^<>\s]+)>", v)]
    return list(dict.fromkeys(found))


def _is_automatic(message: EmailMessage, headers: dict[str, list[str]]) -> bool:
    """RFC 3834 `Auto-Submitted`, list/bulk `Precedence`, a null `Return-Path` (bounces), a delivery
    report, and the X- headers mail servers add to vacation replies."""
    if any(v.strip().lower() != "no" for v in headers.get("auto-submitted", [])):
        return True
    if any(v.strip().lower() in ("bulk", "list", "junk") for v in headers.get("precedence", [])):
        return True
    if any(v.replace(" ", "") in ("<>", "") for v in headers.get("return-path", [])):
        return True
    if headers.get("x-autoreply") or headers.get("x-autorespond"):
        return True
    return message.get_content_type() == "multipart/report"


# --- the body and the attachments ------------------------------------------------------------------


def _body_and_attachments(message: EmailMessage) -> tuple[str, list[Attachment]]:
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part)
        if disposition != "attachment" and not filename and content_type in ("text/plain", "text/html"):
            text = decode_bytes(part.get_payload(decode=True) or b"", part.get_content_charset())
            if content_type == "text/plain" and plain is None:
                plain = text
            elif content_type == "text/html" and html is None:
                html = text
            continue
        if content_type.startswith("message/") or content_type == "text/rfc822-headers":
            continue  # a report's copy of the original message
        attachments.append(Attachment(filename or "attachment", content_type, part.get_payload(decode=True) or b""))
    if plain is not None and plain.strip():
        return _tidy(plain), attachments
    if html is not None:
        return _tidy(html_to_text(html)), attachments
    return _tidy(plain or ""), attachments


def _filename(part: EmailMessage) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    name = _undo_surrogates(decode_header_value(name)) if "=?" in name else name
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", name).strip()
    return name[:200]


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


class _HtmlText(HTMLParser):
    """Text of an HTML body: blocks become lines; script, style and quoted blocks (`<blockquote>`,
    Gmail's `gmail_quote`) are dropped with everything inside them."""

    _BLOCKS: ClassVar[set[str]] = {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "ul",
        "ol",
    }
    _SKIPPED: ClassVar[set[str]] = {"script", "style", "head", "title", "blockquote"}
    _VOID: ClassVar[set[str]] = {"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0  # open elements inside a dropped one

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if self.skipping:
            self.skipping += tag not in self._VOID
        elif tag in self._SKIPPED or "gmail_quote" in (dict(attrs).get("class") or ""):
            self.skipping = 1
        elif tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag == "br" and not self.skipping:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            self.skipping -= tag not in self._VOID
        elif tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.chunks.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.chunks).split("\n")]
    return "\n".join(line for line in lines if line)  # each block a line: tags open and close blocks alike


# --- quoted replies and signatures -----------------------------------------------------------------

# A line where the quoted earlier message starts: everything from it on is dropped.
_QUOTE_HEADERS = [
    re.compile(r"^On .{4,300}wrote:\s*$", re.IGNORECASE | re.DOTALL),  # Gmail, Apple Mail (… at …, … wrote:)
    re.compile(r"^在.{2,300}写道[:：]\s*$", re.DOTALL),  # Chinese Gmail / Apple Mail
    re.compile(r"^.{0,300}于.{2,300}写道[:：]\s*$", re.DOTALL),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),  # Outlook
    re.compile(r"^-{2,}\s*原始邮件\s*-{2,}\s*$"),  # QQ Mail / Foxmail
    re.compile(r"^-{2,}\s*(Forwarded message|转发的邮件|回复的原邮件)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^_{10,}\s*$"),  # Outlook's rule above its From:/Sent: block
]
# A header block of the quoted message (Outlook, Foxmail): a From line with a Sent/Date line just after.
_BLOCK_FROM = re.compile(r"^\*?(From|发件人)\s*\*?[:：]", re.IGNORECASE)
_BLOCK_SENT = re.compile(r"^\*?(Sent|Date|发送时间|时间|日期)\s*\*?[:：]", re.IGNORECASE)
# Where a signature starts: everything from it on is dropped.
_SIGNATURES = [
    re.compile(r"^--\s?$"),
    re.compile(r"^(Sent from|Sent via|Get Outlook for) .{1,60}$", re.IGNORECASE),
    re.compile(r"^发自我的\s?\S{1,30}$"),
    re.compile(r"^从我的\s?\S{1,30}发送$"),
]


def strip_reply(text: str) -> str:
    """The text the sender wrote now: up to the first quote header or signature, `>` lines dropped.
    Never empty when `text` is not: a mail that is all quote keeps its text as sent."""
    lines = text.split("\n")
    end = len(lines)
    for index, line in enumerate(lines):
        stripped = line.strip()
        joined = f"{stripped} {lines[index + 1].strip()}" if index + 1 < len(lines) else stripped
        if any(p.match(stripped) or (p.match(joined) and not stripped.endswith(":")) for p in _QUOTE_HEADERS):
            end = index
            break
        if _BLOCK_FROM.match(stripped) and any(_BLOCK_SENT.match(n.strip()) for n in lines[index + 1 : index + 4]):
            end = index
            break
        if any(p.match(stripped) for p in _SIGNATURES):
            end = index
            break
    kept = [line for line in lines[:end] if not line.lstrip().startswith(">")]
    result = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return (result or text.strip())[:MAX_TEXT]
