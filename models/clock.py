from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The one source of "now" for the domain; stored times are UTC, shown in the hospital's zone."""
    return datetime.now(UTC)
