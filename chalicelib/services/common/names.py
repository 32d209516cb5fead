"""Real names as others may see them: 张三 → *三, 欧阳娜娜 → ***娜, John Smith → ****Smith."""

from __future__ import annotations

import unicodedata


def normalize_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).split())


def mask_name(name: str | None) -> str | None:
    if not name:
        return None
    words = name.split(" ")
    if len(words) > 1:  # keep the family name of a Latin-script name
        return "*" * len("".join(words[:-1])) + words[-1]
    return "*" * (len(name) - 1) + name[-1]


def same_holder(card_holder: str, real_name: str) -> bool:
    """NFKC, case folding and no spaces: how a card's holder name is compared with the real name."""

    def canon(text: str) -> str:
        return "".join(unicodedata.normalize("NFKC", text).casefold().split())

    return canon(card_holder) == canon(real_name)
