"""Card numbers in chat messages are stored and shown as `**** 1234` (contract section 12).

A card number is 13–19 digits passing the Luhn check, written in one run or grouped by single
spaces or hyphens. Where a run of digit groups is not a card as a whole (a date or an amount
beside it), the longest stretch of whole groups that is one is masked; other numbers stay.
"""

from __future__ import annotations

import re

from stdnum import luhn

# Digit groups joined by a single space or hyphen; not part of a longer digit run.
_RUN = re.compile(r"(?<!\d)\d+(?:[ -]\d+)*(?!\d)")
_SEPARATOR = re.compile(r"[ -]")


def _is_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and luhn.is_valid(digits)


def _mask_run(run: str) -> str:
    digits = _SEPARATOR.sub("", run)
    if _is_card(digits):
        return f"**** {digits[-4:]}"
    if len(digits) < 13:
        return run
    # Try whole-group stretches, longest first (then leftmost), for a card inside the run.
    groups = _SEPARATOR.split(run)
    separators = _SEPARATOR.findall(run)
    for size in range(len(groups) - 1, 0, -1):
        for start in range(0, len(groups) - size + 1):
            candidate = "".join(groups[start : start + size])
            if _is_card(candidate):
                before = "".join(g + s for g, s in zip(groups[:start], separators[:start], strict=True))
                after = "".join(
                    s + g for s, g in zip(separators[start + size - 1 :], groups[start + size :], strict=True)
                )
                return before + f"**** {candidate[-4:]}" + _mask_text(after)
    return run


def _mask_text(text: str) -> str:
    return _RUN.sub(lambda match: _mask_run(match.group(0)), text)


def mask_card_numbers(text: str) -> str:
    """`text` with every card number in it replaced by `**** <last four>`."""
    return _mask_text(text)
