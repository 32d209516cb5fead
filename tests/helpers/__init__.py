"""Shared test helpers: users, HTTP calls, sent codes and messages, money, MFA; pytest fixtures stay in conftest.py."""
