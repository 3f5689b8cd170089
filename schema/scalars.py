"""Scalars whose rendering depends on the hospital: built at the edge from its settings."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition


def hospital_datetime(zone: ZoneInfo) -> ScalarDefinition:
    """DateTime rendered in the hospital's offset (+08:00 in Asia/Shanghai) whatever the row's zone.

    Same name and description as strawberry's DateTime: the printed schema does not change.
    """

    def serialize(value: datetime) -> str:
        return value.astimezone(zone).isoformat()

    return dataclasses.replace(DateTimeDefinition, serialize=serialize)
