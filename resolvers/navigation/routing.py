"""Routes: from a scanned code to a room, a department, your booking or your next visit today."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from gualema.settings import Settings
from models.booking import Booking, BookingStatus
from models.catalogue import Department, Room
from models.checkin_codes import VERSION as CHECK_IN_VERSION
from models.checkin_codes import InvalidCheckInCode, verify_code
from models.clock import utcnow
from models.errors import DomainError, InvalidInput, NotFound
from models.navigation_markers import (
    InvalidMarker,
    verify_marker_code,
)
from models.routing import MapGraph, Route, RouteOptions, find_route
from resolvers.context import Context
from resolvers.navigation.map_graph import load_graph

T = TypeVar("T")


class NoVisitToday(DomainError):
    default_message = "you have no confirmed visit left today"


@dataclass(frozen=True)
class RouteTarget:
    room_id: int | None = None
    department_id: int | None = None
    booking_id: int | None = None


def route_options(settings: Settings, accessible: bool) -> RouteOptions:
    return RouteOptions(
        accessible=accessible,
        floor_change_cost_m=settings.navigation_floor_change_cost_m,
        walking_speed_mps=settings.navigation_walking_speed_mps,
        floor_change_seconds=settings.navigation_floor_change_seconds,
    )


@dataclass(frozen=True)
class StartRef:
    # Where a scanned code says the visitor stands: a navigation marker, or a room or department
    # check-in code of the queue area (decision 061), so either code on a wall starts a route.
    marker_id: str | None = None
    room_id: int | None = None
    department_id: int | None = None


def verify_start(settings: Settings, scanned: str) -> StartRef:
    """The place a genuine scanned code names; InvalidMarker for a forged, altered or unknown one."""
    secret = settings.secret_key.get_secret_value()
    text = scanned.strip()
    last_segment = urlsplit(text).path.rstrip("/").rsplit("/", 1)[-1] if "/" in text else text
    if last_segment.startswith(CHECK_IN_VERSION + "."):
        try:
            signed = verify_code(last_segment, secret=secret)
        except InvalidCheckInCode:
            raise InvalidMarker() from None
        if signed.kind == "room":
            return StartRef(room_id=signed.id)
        if signed.kind == "department":
            return StartRef(department_id=signed.id)
        raise InvalidMarker()
    return StartRef(marker_id=verify_marker_code(secret, text))


async def route(context: Context, marker_code: str, target: RouteTarget, accessible: bool) -> Route:
    start = verify_start(context.settings, marker_code)
    given = [v for v in (target.room_id, target.department_id, target.booking_id) if v is not None]
    if len(given) != 1:
        raise InvalidInput("to", "give exactly one of roomId, departmentId, bookingId")
    if target.booking_id is not None:
        room_id = await _room_of_own_booking(context, target.booking_id)
        return await _route_to_room(context, start, room_id, accessible)
    if target.room_id is not None:
        if not await Room.exists(id=target.room_id):
            raise NotFound("room not found")
        return await _route_to_room(context, start, target.room_id, accessible)
    assert target.department_id is not None
    return await _route_to_department(context, start, target.department_id, accessible)


async def _route_to_room(context: Context, start_ref: StartRef, room_id: int, accessible: bool) -> Route:
    graph = await load_graph(context.settings.navigation_floor_change_cost_m)
    start = _start_point(graph, start_ref)
    return find_route(
        graph, start, graph.points_by_room.get(room_id, []), route_options(context.settings, accessible)
    )


async def _route_to_department(
    context: Context, start_ref: StartRef, department_id: int, accessible: bool
) -> Route:
    if not await Department.exists(id=department_id):
        raise NotFound("department not found")
    graph = await load_graph(context.settings.navigation_floor_change_cost_m)
    start = _start_point(graph, start_ref)
    # The department's own points (its reception desk) first; failing those, the nearest of its rooms.
    targets = graph.points_by_department.get(department_id, [])
    if not targets:
        rooms = await Room.filter(department_id=department_id, archived=False).values_list("id", flat=True)
        targets = [p for room_id in _as_ints(rooms) for p in graph.points_by_room.get(room_id, [])]
    return find_route(graph, start, targets, route_options(context.settings, accessible))


def _start_point(graph: MapGraph, start: StartRef) -> int:
    # A genuine code for a place that is not (or no longer) on the map: -1, i.e. start_not_on_map.
    if start.marker_id is not None:
        return graph.point_by_marker.get(start.marker_id, -1)
    if start.room_id is not None:
        points = graph.points_by_room.get(start.room_id, [])
    else:
        points = graph.points_by_department.get(start.department_id or -1, [])
    return points[0] if points else -1


async def _room_of_own_booking(context: Context, booking_id: int) -> int:
    account_id = context.viewer.account_id
    if account_id is None:
        raise NotFound("booking not found")
    rows = await Booking.filter(id=booking_id, account_id=account_id).values_list(
        "schedule__room_id", flat=True
    )
    if not rows:
        raise NotFound("booking not found")
    return _as_ints(rows)[0]


NEXT_VISIT_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


async def next_visit_room(account_id: int, now: datetime, settings: Settings) -> int:
    """The room of the account's earliest confirmed or checked-in booking today (hospital time)."""
    today = now.astimezone(settings.tz).date()
    rows = (
        await Booking.filter(account_id=account_id, visit_date=today, status__in=NEXT_VISIT_STATUSES)
        .order_by("slot__starts_at", "id")
        .limit(1)
        .values_list("schedule__room_id", flat=True)
    )
    if not rows:
        raise NoVisitToday()
    return _as_ints(rows)[0]


async def my_next_visit_route(context: Context, marker_code: str, accessible: bool) -> Route:
    start = verify_start(context.settings, marker_code)
    account_id = context.viewer.account_id
    assert account_id is not None  # the field is for patients only
    room_id = await next_visit_room(account_id, utcnow(), context.settings)
    return await _route_to_room(context, start, room_id, accessible)


def _as_ints(values: Iterable[Any]) -> list[int]:
    return [int(v) for v in values]
