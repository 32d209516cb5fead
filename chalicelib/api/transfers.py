"""Sending money to another Okpay user: recipient lookup, transfers with step-up confirmation."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
