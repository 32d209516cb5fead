"""Paying merchants and billers, withdrawing to a card, converting currencies."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
