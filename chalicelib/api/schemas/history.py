"""Request and response models of the history routes (chalicelib/api/history.py)."""

from __future__ import annotations
