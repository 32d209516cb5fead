"""A user's security log (contract v1.2, section 11): sign-ins, failures and security changes.

Kept in the `audit` table under the subject `security#<user_id>`, one event per item, in time order
(`event_key` = `"<at stamp>#evt_…"`), so the newest are one Query read backwards. `action` is the
event's `type` (`login`, `login_failed`, `new_device`, `mfa_failed`, `password_changed`, …); the
device name, the IP address and a short `detail` (never a secret) ride in `detail`.

An event is appended next to the change it records: in the change's transaction where there is one
(`security_event` builds the item), else right after it (`record_security_event`), never failing
the request. An event written while serving a request carries the client's source IP unless the
writer names one (chalicelib.adapters.request_origin). Events are kept 400 days on the app's clock:
only they set the audit table's TTL attribute (`expires_ttl`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.adapters import clock, request_origin
from chalicelib.adapters.logging import logger
from chalicelib.store.audit import AuditEvent, audit_event

TYPES = (
    "login",
    "login_failed",
    "new_device",
    "mfa_failed",
    "password_changed",
    "password_reset",
    "contact_changed",
    "mfa_changed",
    "session_revoked",
    "session_revoked_reauth",
    "frozen",
    "unfrozen",
    "role_changed",
)
KEPT = timedelta(days=400)


def security_subject(user_id: str) -> str:
    return f"security#{user_id}"


def security_event(
    user_id: str,
    event_type: str,
    at: str,
    *,
    device_name: str | None = None,
    ip: str | None = None,
    detail: str | None = None,
) -> AuditEvent:
    """A new event of `user_id`'s log (not yet written: save it, or add it to the change's transaction).
    `ip` defaults to the source IP of the request being served."""
    facts = {"device_name": device_name, "ip": ip or request_origin.client_ip(), "detail": detail}
    event = audit_event(
        security_subject(user_id),
        user_id,
        event_type,
        at,
        {key: value for key, value in facts.items() if value is not None},
    )
    event.expires_ttl = clock.from_stamp(at) + KEPT
    return event


def record_security_event(
    user_id: str,
    event_type: str,
    at: str,
    *,
    device_name: str | None = None,
    ip: str | None = None,
    detail: str | None = None,
) -> None:
    """Append an event after its change has committed; a failure is logged, never raised (the change stands)."""
    try:
        security_event(user_id, event_type, at, device_name=device_name, ip=ip, detail=detail).save()
    except Exception:
        logger.exception("security event not recorded", extra={"user_id": user_id, "type": event_type})


def recent_security_events(
    user_id: str, limit: int, start: dict[str, Any] | None = None
) -> tuple[list[AuditEvent], dict[str, Any] | None]:
    """One page of the log, newest first, and where the next page starts."""
    results = AuditEvent.query(
        security_subject(user_id),
        scan_index_forward=False,
        consistent_read=True,
        limit=limit,
        last_evaluated_key=start,
    )
    return list(results), results.last_evaluated_key


def event_view(event: AuditEvent) -> dict[str, Any]:
    """`{event_id, type, at, device_name?, ip?, detail?}` (contract, section 11)."""
    facts = event.detail or {}
    view: dict[str, Any] = {
        "event_id": event.event_key.rsplit("#", 1)[-1],
        "type": event.action,
        "at": clock.isoformat(clock.from_stamp(event.at)),
    }
    view.update({key: facts[key] for key in ("device_name", "ip", "detail") if facts.get(key) is not None})
    return view
