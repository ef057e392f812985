"""The one place that reads the time, so tests can move it."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    """The current time, timezone-aware (UTC)."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    return now().date()
