"""Language: Accept-Language wins, any zh-* is zh-CN, English otherwise; every code has texts."""

from __future__ import annotations

import pytest

from chalicelib.errors import STATUS_BY_CODE
from chalicelib.i18n import error_message, locale_from_accept_language, messages, phrases, support_templates, templates
from chalicelib.i18n.locale import LOCALES, pick
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


def test_every_text_is_stored_one_way_with_both_languages():
    """Each table in chalicelib/i18n maps an id to `{locale: text}`; a lone text is `{locale: text}`."""
    checked = 0
    for module in (messages, phrases, support_templates, templates):
        for name, value in vars(module).items():
            if not (isinstance(value, dict) and name.lstrip("_").isupper()):
                continue
            entries = [value] if set(value) == set(LOCALES) else list(value.values())
            for texts in entries:
                assert isinstance(texts, dict) and set(texts) == set(LOCALES), (module.__name__, name)
                assert all(texts.values()), (module.__name__, name)
                checked += 1
    assert checked > 150


def test_pick_falls_back_to_english():
    texts = {"en": "hello", "zh-CN": "你好"}
    assert [pick(texts, locale) for locale in ("zh-CN", "en", "fr", None)] == ["你好", "hello", "hello", "hello"]
    assert pick({"en": "Okpay Mart", "zh-CN": None}, "zh-CN") == "Okpay Mart"  # a name without a Chinese one
