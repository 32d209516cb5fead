"""Language: Accept-Language wins, any zh-* is zh-CN, English otherwise; every code has texts."""

from __future__ import annotations

import pytest

from chalicelib.errors import STATUS_BY_CODE
from chalicelib.i18n import error_message, locale_from_accept_language
from chalicelib.i18n.messages import known_codes
from chalicelib.i18n.templates import TEMPLATES


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-CN", "zh-CN"),
        ("zh-TW,zh;q=0.9", "zh-CN"),
        ("zh-Hant-HK", "zh-CN"),
        ("en-GB", "en"),
        ("fr-FR, en;q=0.5", "en"),
        ("en;q=0.4, zh;q=0.8", "zh-CN"),
        ("fr, de", None),
        ("zh;q=0", None),
        ("", None),
        (None, None),
        ("*", None),
    ],
)
def test_accept_language(header, locale):
    assert locale_from_accept_language(header) == locale


def test_every_error_code_has_an_english_and_a_chinese_message():
    assert known_codes() == set(STATUS_BY_CODE)
    for code in STATUS_BY_CODE:
        english, chinese = error_message(code, "en"), error_message(code, "zh-CN")
        assert english and chinese and english != chinese, code


def test_every_template_has_both_languages():
    for name, texts in TEMPLATES.items():
        assert set(texts) == {"zh-CN", "en"}, name
