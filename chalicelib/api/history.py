"""Transaction history, one transaction, and the agents' reconciliation report."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
