"""Indoor navigation use cases: the cached routing graph, routes, map editing, import and export."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from strawberry.dataloader import DataLoader
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from gualema.settings import Settings, get_settings
from models.booking import Booking, BookingStatus
from models.catalogue import Department, Room
from models.checkin_codes import VERSION as CHECK_IN_VERSION
from models.checkin_codes import InvalidCheckInCode, verify_code
from models.clock import utcnow
from models.errors import DomainError, InvalidInput, NotFound
from models.navigation import (
    Building,
    Floor,
    MapEdge,
    MapPoint,
    PointKind,
    bump_map_version,
    current_map_version,
    ensure_map_version_row,
)
from models.navigation_map_document import (
    DocBuilding,
    DocEdge,
    DocFloor,
    DocPoint,
    MapDocument,
    parse_map_document,
)
from models.navigation_markers import (
    InvalidMarker,
    SignedMarker,
    marker_id_problem,
    marker_url,
    sign_marker,
    verify_marker_code,
)
from models.routing import GraphEdge, GraphPoint, MapGraph, Route, RouteOptions, find_route
from models.text_rules import clean_text
from resolvers.context import Context

T = TypeVar("T")


class NoVisitToday(DomainError):
    default_message = "you have no confirmed visit left today"


class MapInUse(DomainError):
    default_message = "this part of the map still has floors, points or edges; remove them first"


# -- the routing graph, cached per process ------------------------------------------------------

_cached_graph: MapGraph | None = None
_graph_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None


def _lock() -> asyncio.Lock:
    # One lock per event loop: a lock used from a second loop (CLI runs, benchmarks) would raise.
    global _graph_lock
    loop = asyncio.get_running_loop()
    if _graph_lock is None or _graph_lock[0] is not loop:
        _graph_lock = (loop, asyncio.Lock())
    return _graph_lock[1]


async def load_graph() -> MapGraph:
    """The whole map as a graph. One cheap query per call checks the map version stored in the
    database; the graph is rebuilt only when an edit (in any process) has bumped it."""
    global _cached_graph
    version = await current_map_version()
    cached = _cached_graph
    if cached is not None and version is not None and cached.version == version:
        return cached
    async with _lock():  # one rebuild per process at a time, not one per waiting request
        cached = _cached_graph
        if cached is not None and version is not None and cached.version == version:
            return cached
        graph = await _read_graph(version)
        settings = get_settings()
        for accessible in (False, True):  # build the search views now, not in a visitor's request
            graph.weighted(settings.navigation_floor_change_cost_m, accessible, True)
        if version is not None:
            _cached_graph = graph
        return graph


async def _read_graph(version: tuple[str, int] | None) -> MapGraph:
    # The version is read before the rows: rows newer than it only cause one extra reload later;
    # if the version moved while reading, read again so the cached graph is never labelled newer.
    for _ in range(3):
        graph = await _read_rows(version)
        latest = await current_map_version()
        if latest == version:
            return graph
        version = latest
    graph.version = None  # a busy editor: serve what was read, uncached; the next call reads again
    return graph


async def _read_rows(version: tuple[str, int] | None) -> MapGraph:
    buildings = dict(await Building.all().values_list("id", "name"))
    floors = {row[0]: row for row in await Floor.all().values_list("id", "building_id", "name", "level")}
    points: list[GraphPoint] = []
    for (
        pid,
        key,
        name,
        kind,
        floor_id,
        x,
        y,
        room_id,
        department_id,
        marker_id,
    ) in await MapPoint.all().values_list(
        "id", "key", "name", "kind", "floor_id", "x", "y", "room_id", "department_id", "marker_id"
    ):
        floor = floors.get(floor_id)
        if floor is None:
            continue
        _, building_id, floor_name, level = floor
        points.append(
            GraphPoint(
                pid,
                key,
                name,
                PointKind(kind),
                floor_id,
                floor_name,
                level,
                building_id,
                buildings.get(building_id, ""),
                x,
                y,
                room_id,
                department_id,
                marker_id,
            )
        )
    known = {p.id for p in points}
    edges = [
        GraphEdge(*row)
        for row in await MapEdge.all().values_list(
            "id",
            "start_id",
            "end_id",
            "length_m",
            "stairs",
            "lift",
            "escalator",
            "one_way",
            "step_free",
            "closed",
        )
        if row[1] in known and row[2] in known
    ]
    return MapGraph(points, edges, version)


def forget_cached_graph() -> None:
    global _cached_graph
    _cached_graph = None


# -- routes -------------------------------------------------------------------------------------


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


def marker_base_url(settings: Settings) -> str:
    public = getattr(settings, "public_base_url", "http://127.0.0.1:8000")
    return settings.navigation_marker_url or f"{str(public).rstrip('/')}/navigation/m"


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
    graph = await load_graph()
    start = _start_point(graph, start_ref)
    return find_route(
        graph, start, graph.points_by_room.get(room_id, []), route_options(context.settings, accessible)
    )


async def _route_to_department(
    context: Context, start_ref: StartRef, department_id: int, accessible: bool
) -> Route:
    if not await Department.exists(id=department_id):
        raise NotFound("department not found")
    graph = await load_graph()
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


# -- markers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrintableMarker:
    signed: SignedMarker
    url: str


@dataclass(frozen=True)
class MarkerPlace:
    marker_id: str
    point_name: str
    building: str
    floor: str


async def marker_place(settings: Settings, scanned: str) -> MarkerPlace | None:
    """Where a scanned navigation marker stands; None for a forged code or a marker not on the map."""
    try:
        marker_id = verify_marker_code(settings.secret_key.get_secret_value(), scanned)
    except InvalidMarker:
        return None
    point = await MapPoint.filter(marker_id=marker_id).select_related("floor__building").first()
    if point is None:
        return None
    return MarkerPlace(marker_id, point.name, point.floor.building.name, point.floor.name)


def printable_marker(settings: Settings, marker_id: str) -> PrintableMarker:
    signed = sign_marker(settings.secret_key.get_secret_value(), marker_id)
    return PrintableMarker(signed, marker_url(marker_base_url(settings), signed))


async def printable_marker_on_map(settings: Settings, marker_id: str) -> PrintableMarker:
    if marker_id_problem(marker_id) or not await MapPoint.exists(marker_id=marker_id):
        raise InvalidMarker("no point of the map carries this marker")
    return printable_marker(settings, marker_id)


# -- editing the map ----------------------------------------------------------------------------


async def _edit(work: Callable[[], Awaitable[T]], conflict: tuple[str, str]) -> T:
    """Run a map change in a transaction that bumps the map version; a unique clash is InvalidInput."""
    await ensure_map_version_row()
    try:
        async with in_transaction():
            # Bumping first takes the version row's lock: map edits (and whole imports) run one at a
            # time, so two imports cannot interleave their deletes and inserts.
            await bump_map_version()
            return await work()
    except IntegrityError:
        raise InvalidInput(*conflict) from None


async def _get(model: type[T], item_id: int, what: str) -> T:
    row = await model.get_or_none(id=item_id)  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(f"{what} not found")
    return row


def _as_ints(values: Iterable[Any]) -> list[int]:
    return [int(v) for v in values]


def _require_text(field: str, value: str, limit: int) -> str:
    return clean_text(value, field=field, max_length=limit)


@dataclass(frozen=True)
class BuildingValues:
    code: str
    name: str
    sort_order: int = 0


async def save_building(building_id: int | None, values: BuildingValues) -> Building:
    fields: dict[str, Any] = {
        "code": _require_text("code", values.code, 16),
        "name": _require_text("name", values.name, 64),
        "sort_order": values.sort_order,
    }

    async def work() -> Building:
        if building_id is None:
            return await Building.create(**fields)
        building = await _get(Building, building_id, "building")
        await building.update_from_dict(fields).save()
        return building

    return await _edit(work, ("code", "another building has this code"))


@dataclass(frozen=True)
class FloorValues:
    building_id: int
    name: str
    level: int


async def save_floor(floor_id: int | None, values: FloorValues) -> Floor:
    fields: dict[str, Any] = {
        "building_id": values.building_id,
        "name": _require_text("name", values.name, 16),
        "level": values.level,
    }

    async def work() -> Floor:
        await _get(Building, values.building_id, "building")
        if floor_id is None:
            return await Floor.create(**fields)
        floor = await _get(Floor, floor_id, "floor")
        await floor.update_from_dict(fields).save()
        return floor

    return await _edit(work, ("name", "the building already has a floor with this name or level"))


@dataclass(frozen=True)
class PointValues:
    floor_id: int
    key: str
    kind: PointKind
    x: float
    y: float
    name: str = ""
    room_id: int | None = None
    department_id: int | None = None
    marker_id: str | None = None


async def save_point(point_id: int | None, values: PointValues) -> MapPoint:
    if not (math.isfinite(values.x) and math.isfinite(values.y)):
        raise InvalidInput("x", "coordinates are finite numbers of metres")
    marker_id = values.marker_id.strip().upper() if values.marker_id else None
    if marker_id is not None:
        problem = marker_id_problem(marker_id)
        if problem:
            raise InvalidInput("markerId", problem)
    fields: dict[str, Any] = {
        "floor_id": values.floor_id,
        "key": _require_text("key", values.key, 64),
        "kind": values.kind,
        "name": clean_text(values.name, field="name", max_length=64, required=False),
        "x": values.x,
        "y": values.y,
        "room_id": values.room_id,
        "department_id": values.department_id,
        "marker_id": marker_id,
    }

    async def work() -> MapPoint:
        await _get(Floor, values.floor_id, "floor")
        if values.room_id is not None and not await Room.exists(id=values.room_id):
            raise InvalidInput("roomId", f"there is no room {values.room_id}")
        if values.department_id is not None and not await Department.exists(id=values.department_id):
            raise InvalidInput("departmentId", f"there is no department {values.department_id}")
        if point_id is None:
            return await MapPoint.create(**fields)
        point = await _get(MapPoint, point_id, "map point")
        await point.update_from_dict(fields).save()
        return point

    return await _edit(work, ("key", "the key or the marker id is already used by another point"))


@dataclass(frozen=True)
class EdgeValues:
    start_id: int
    end_id: int
    length_m: float | None = None  # None: the straight distance, for an edge on one floor
    stairs: bool = False
    lift: bool = False
    escalator: bool = False
    one_way: bool = False
    step_free: bool = True
    closed: bool = False


async def save_edge(edge_id: int | None, values: EdgeValues) -> MapEdge:
    if values.start_id == values.end_id:
        raise InvalidInput("endId", "an edge joins two different points")
    if sum((values.stairs, values.lift, values.escalator)) > 1:
        raise InvalidInput("lift", "an edge is at most one of stairs, lift, escalator")

    async def work() -> MapEdge:
        start = await _get(MapPoint, values.start_id, "start point")
        end = await _get(MapPoint, values.end_id, "end point")
        length = values.length_m
        if length is None:
            if start.floor_id != end.floor_id:
                raise InvalidInput("lengthM", "lengthM is required for an edge between floors")
            length = round(math.hypot(end.x - start.x, end.y - start.y), 2)
        if not (math.isfinite(length) and length > 0):
            raise InvalidInput("lengthM", "lengthM must be more than 0")
        fields: dict[str, Any] = {
            "start_id": start.id,
            "end_id": end.id,
            "length_m": length,
            "stairs": values.stairs,
            "lift": values.lift,
            "escalator": values.escalator,
            "one_way": values.one_way,
            "step_free": values.step_free,
            "closed": values.closed,
        }
        if edge_id is None:
            return await MapEdge.create(**fields)
        edge = await _get(MapEdge, edge_id, "map edge")
        await edge.update_from_dict(fields).save()
        return edge

    return await _edit(work, ("startId", "the edge clashes with another"))


async def set_edge_closed(edge_id: int, closed: bool) -> MapEdge:
    async def work() -> MapEdge:
        edge = await _get(MapEdge, edge_id, "map edge")
        edge.closed = closed
        await edge.save(update_fields=["closed"])
        return edge

    return await _edit(work, ("id", "the edge changed meanwhile"))


async def delete_building(building_id: int) -> int:
    async def work() -> int:
        await _get(Building, building_id, "building")
        if await Floor.exists(building_id=building_id):
            raise MapInUse("the building still has floors; delete them first")
        await Building.filter(id=building_id).delete()
        return building_id

    return await _edit(work, ("id", "the building is in use"))


async def delete_floor(floor_id: int) -> int:
    async def work() -> int:
        await _get(Floor, floor_id, "floor")
        if await MapPoint.exists(floor_id=floor_id):
            raise MapInUse("the floor still has points; delete them first")
        await Floor.filter(id=floor_id).delete()
        return floor_id

    return await _edit(work, ("id", "the floor is in use"))


async def delete_point(point_id: int) -> int:
    async def work() -> int:
        await _get(MapPoint, point_id, "map point")
        # A point's edges mean nothing without it: they go with it.
        await MapEdge.filter(start_id=point_id).delete()
        await MapEdge.filter(end_id=point_id).delete()
        await MapPoint.filter(id=point_id).delete()
        return point_id

    return await _edit(work, ("id", "the point is in use"))


async def delete_edge(edge_id: int) -> int:
    async def work() -> int:
        await _get(MapEdge, edge_id, "map edge")
        await MapEdge.filter(id=edge_id).delete()
        return edge_id

    return await _edit(work, ("id", "the edge is in use"))


# -- import and export --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSummary:
    buildings: int
    floors: int
    points: int
    edges: int


async def import_map(raw: object) -> ImportSummary:
    """Replace the whole map with the document: every problem reported, nothing half-imported."""
    room_ids = set(_as_ints(await Room.all().values_list("id", flat=True)))
    department_ids = set(_as_ints(await Department.all().values_list("id", flat=True)))
    document = parse_map_document(raw, room_ids, department_ids)
    return await _edit(lambda: _replace_map(document), ("document", "the map changed meanwhile; try again"))


async def _replace_map(document: MapDocument) -> ImportSummary:
    await MapEdge.all().delete()
    await MapPoint.all().delete()
    await Floor.all().delete()
    await Building.all().delete()
    floor_ids: dict[tuple[str, str], int] = {}
    floors = 0
    for building in document.buildings:
        row = await Building.create(code=building.code, name=building.name, sort_order=building.sort_order)
        for floor in building.floors:
            floor_row = await Floor.create(building_id=row.id, name=floor.name, level=floor.level)
            floor_ids[(building.code, floor.name)] = floor_row.id
            floors += 1
    await MapPoint.bulk_create(
        [
            MapPoint(
                key=p.key,
                floor_id=floor_ids[(p.building, p.floor)],
                kind=p.kind,
                name=p.name,
                x=p.x,
                y=p.y,
                room_id=p.room_id,
                department_id=p.department_id,
                marker_id=p.marker_id,
            )
            for p in document.points
        ],
        batch_size=500,
    )
    point_ids = dict(await MapPoint.all().values_list("key", "id"))
    await MapEdge.bulk_create(
        [
            MapEdge(
                start_id=point_ids[e.start],
                end_id=point_ids[e.end],
                length_m=e.length_m,
                stairs=e.stairs,
                lift=e.lift,
                escalator=e.escalator,
                one_way=e.one_way,
                step_free=e.step_free,
                closed=e.closed,
            )
            for e in document.edges
        ],
        batch_size=500,
    )
    return ImportSummary(len(document.buildings), floors, len(document.points), len(document.edges))


async def export_map() -> dict[str, Any]:
    buildings = await Building.all().order_by("sort_order", "code")
    floors = await Floor.all().order_by("level", "id")
    points = await MapPoint.all().order_by("id")
    edges = await MapEdge.all().order_by("id")
    floors_by_building: dict[int, list[Floor]] = {}
    for floor in floors:
        floors_by_building.setdefault(floor.building_id, []).append(floor)
    building_codes = {b.id: b.code for b in buildings}
    floor_place = {f.id: (building_codes[f.building_id], f.name) for f in floors}
    point_keys = {p.id: p.key for p in points}
    document = MapDocument(
        buildings=[
            DocBuilding(
                b.code,
                b.name,
                b.sort_order,
                [DocFloor(f.name, f.level) for f in floors_by_building.get(b.id, [])],
            )
            for b in buildings
        ],
        points=[
            DocPoint(
                p.key,
                *floor_place[p.floor_id],
                p.kind,
                p.name,
                p.x,
                p.y,
                p.room_id,
                p.department_id,
                p.marker_id,
            )
            for p in points
        ],
        edges=[
            DocEdge(
                point_keys[e.start_id],
                point_keys[e.end_id],
                e.length_m,
                e.stairs,
                e.lift,
                e.escalator,
                e.one_way,
                e.step_free,
                e.closed,
            )
            for e in edges
        ],
    )
    return document.to_json()


# -- reading the map (per-request loaders) ------------------------------------------------------


async def buildings() -> list[Building]:
    return await Building.all().order_by("sort_order", "code")


async def points_of_floor(floor_id: int) -> list[MapPoint]:
    return await MapPoint.filter(floor_id=floor_id).order_by("id")


async def edges_of_floor(floor_id: int | None) -> list[MapEdge]:
    if floor_id is None:
        return await MapEdge.all().order_by("id")
    point_ids = MapPoint.filter(floor_id=floor_id).values_list("id", flat=True)
    return await MapEdge.filter(start_id__in=await point_ids).order_by("id")


def _group(rows: Iterable[T], key: Callable[[T], int], keys: list[int]) -> list[list[T]]:
    grouped: dict[int, list[T]] = {k: [] for k in keys}
    for row in rows:
        grouped.setdefault(key(row), []).append(row)
    return [grouped[k] for k in keys]


class FloorsByBuildingLoader(DataLoader[int, list[Floor]]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, building_ids: list[int]) -> list[list[Floor]]:
        rows = await Floor.filter(building_id__in=building_ids).order_by("level")
        return _group(rows, lambda f: f.building_id, building_ids)
