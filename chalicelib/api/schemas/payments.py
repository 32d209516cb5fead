"""Request and response models of the payments routes (chalicelib/api/payments.py)."""

from __future__ import annotations
