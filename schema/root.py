"""Merges every area's Query, Mutation and Subscription into the one schema clients see."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema import (
    accounts,
    booking,
    catalogue,
    navigation,
    notifications,
    payments,
    queueing,
    scheduling,
    waitlist,
)
from schema.errors import exception_handlers
from schema.scalars import DEFAULT_ZONE, hospital_datetime

AREAS: tuple[ModuleType, ...] = (
    accounts,
    catalogue,
    scheduling,
    booking,
    payments,
    queueing,
    waitlist,
    notifications,
    navigation,
)


def _merged(name: str) -> type | None:
    parts = tuple(getattr(area, name) for area in AREAS if hasattr(area, name))
    return merge_types(name, parts) if parts else None


Query = _merged("Query")
Mutation = _merged("Mutation")
Subscription = _merged("Subscription")


def build_schema(
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] | None = None,
    zone: ZoneInfo = DEFAULT_ZONE,
    **kwargs: Any,
) -> strawberry.Schema:
    return strawberry.Schema(
        config=StrawberryConfig(scalar_map={datetime: hospital_datetime(zone)}),
        query=Query,  # type: ignore[arg-type]
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions or [],
        exception_handlers=exception_handlers(),
        **kwargs,
    )


def printed_schema() -> str:
    return build_schema().as_str() + "\n"
