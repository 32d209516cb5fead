"""Support tickets (客服): the user's tickets and the agents' queue."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
