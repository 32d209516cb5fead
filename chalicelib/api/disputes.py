"""Disputes (申诉): the user's appeals and the agents' desk."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
