"""Which of our two languages a caller reads, and the one way a text is stored and chosen.

Every text people read is `{locale: text}` with both LOCALES (an error message, a phrase, an email's
`(subject, body)`); `pick` chooses the caller's, else the default locale's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

DEFAULT_LOCALE = "en"
LOCALES = ("zh-CN", "en")

T = TypeVar("T")
Texts = dict[str, T]  # locale -> the text in that language


def pick(texts: Mapping[str, T], locale: str | None) -> T:
    """The text for `locale`; the default locale's when `locale` is unknown or its text is empty."""
    return texts.get(locale or DEFAULT_LOCALE) or texts[DEFAULT_LOCALE]


def normalize_locale(tag: str | None) -> str | None:
    """Map a language tag to a supported locale: any zh-* is zh-CN, any en-* is en."""
    if not tag:
        return None
    primary = tag.strip().split("-")[0].split("_")[0].lower()
    if primary == "zh":
        return "zh-CN"
    if primary == "en":
        return "en"
    return None


def locale_from_accept_language(header: str | None) -> str | None:
    """The supported locale the caller prefers most (by q-value), or None when none is acceptable."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        locale = normalize_locale(tag)
        if locale and quality > 0:
            ranked.append((-quality, position, locale))
    return min(ranked)[2] if ranked else None
