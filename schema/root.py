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
    desk,
    navigation,
    notifications,
    partners,
    password_reset,
    payments,
    pre_consultation,
    queueing,
    scheduling,
    statistics,
    stop_requests,
    waitlist,
)
from schema.errors import exception_handlers
from schema.scalars import DEFAULT_ZONE, hospital_datetime

AREAS: tuple[ModuleType, ...] = (
    accounts,
    catalogue,
    scheduling,
    stop_requests,
    booking,
    desk,
    payments,
    queueing,
    waitlist,
    notifications,
    password_reset,
    navigation,
    statistics,
    partners,
    pre_consultation,
)


def _merged(name: str) -> type | None:
    parts = tuple(getattr(area, name) for area in AREAS if hasattr(area, name))
    return merge_types(name, parts) if parts else None


Query = _merged("Query")
Mutation = _merged("Mutation")
Subscription = _merged("Subscription")


def build_schema(
    zone: ZoneInfo = DEFAULT_ZONE,
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] | None = None,
    **kwargs: Any,
) -> strawberry.Schema:
    """`zone` is the hospital's: every DateTime is rendered in its offset."""
    return strawberry.Schema(
        config=StrawberryConfig(scalar_map={datetime: hospital_datetime(zone)}),
        query=Query,  # type: ignore[arg-type]
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions or [],
        exception_handlers=exception_handlers(),
        scalar_overrides={datetime: hospital_datetime(zone)},
        **kwargs,
    )


def printed_schema() -> str:
    # The zone changes how values are rendered, never the printed contract.
    return build_schema(ZoneInfo("UTC")).as_str() + "\n"
