"""DateTime as clients read it: always with the hospital's offset (+08:00 for Asia/Shanghai), never
+00:00 beside +08:00 in one answer, whatever the database or a resolver handed over (issue 13.10)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import strawberry
from strawberry.types.scalar import ScalarDefinition

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")


def hospital_datetime(zone: ZoneInfo = DEFAULT_ZONE) -> ScalarDefinition:
    def serialize(value: datetime) -> str:
        if value.tzinfo is None:
            raise ValueError("a DateTime must be timezone-aware")  # a programming error, never guessed
        return value.astimezone(zone).isoformat()

    def parse_value(value: object) -> datetime:
        if not isinstance(value, str):
            raise ValueError("a DateTime is an ISO 8601 string")
        parsed = datetime.fromisoformat(value)
        # A time without an offset is the hospital's local time, as a patient reads it.
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)

    return strawberry.scalar(
        name="DateTime",
        description="ISO 8601 date and time, always with the hospital's UTC offset (e.g. +08:00).",
        serialize=serialize,
        parse_value=parse_value,
    )
