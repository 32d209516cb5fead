"""Moving the app's test clock forward."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.adapters import clock


def move_clock(by: timedelta | float) -> datetime:
    """Move the test clock forward (seconds or a timedelta) from wherever it is now; returns the new now."""
    delta = by if isinstance(by, timedelta) else timedelta(seconds=by)
    moment = clock.now() + delta
    clock.set_test_clock(moment)
    return moment
