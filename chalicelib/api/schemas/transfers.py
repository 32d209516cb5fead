"""Request and response models of the transfers routes (chalicelib/api/transfers.py)."""

from __future__ import annotations
