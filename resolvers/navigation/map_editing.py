"""Editing the map one building, floor, point or edge at a time; each edit bumps the map version."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import audit
from models.catalogue import Department, Room
from models.errors import DomainError, InvalidInput, NotFound
from models.navigation import (
    Building,
    Floor,
    MapEdge,
    MapPoint,
    PointKind,
    bump_map_version,
    ensure_map_version_row,
)
from models.navigation_markers import (
    marker_id_problem,
)
from models.text_rules import clean_text

T = TypeVar("T")


class MapInUse(DomainError):
    default_message = "this part of the map still has floors, points or edges; remove them first"


@dataclass(frozen=True)
class MapChange:
    """Who changes the map and how, for the audit entry every map change leaves (issue 16.5)."""

    actor_id: int | None
    action: str  # map.import, building.create, map_edge.close, ...
    target_type: str


def _audited_state(result: object) -> tuple[str, dict[str, Any] | None]:
    if isinstance(result, Model):
        names = tuple(result._meta.db_fields)
        return str(result.pk), audit.snapshot(result, names)
    if is_dataclass(result) and not isinstance(result, type):
        return "map", asdict(result)
    return str(result), None  # a deleted item: its id


async def edit_map(work: Callable[[], Awaitable[T]], conflict: tuple[str, str], change: MapChange) -> T:
    """Run a map change in a transaction that bumps the map version and leaves an audit entry; a unique
    clash is InvalidInput."""
    await ensure_map_version_row()
    try:
        async with in_transaction():
            # Bumping first takes the version row's lock: map edits (and whole imports) run one at a
            # time, so two imports cannot interleave their deletes and inserts.
            await bump_map_version()
            result = await work()
            target_id, after = _audited_state(result)
            await audit.record(change.actor_id, change.action, change.target_type, target_id, after=after)
            return result
    except IntegrityError:
        raise InvalidInput(*conflict) from None


def _change(actor_id: int | None, target_type: str, item_id: int | None) -> MapChange:
    return MapChange(actor_id, f"{target_type}.{'create' if item_id is None else 'update'}", target_type)


def _deleted(actor_id: int | None, target_type: str) -> MapChange:
    return MapChange(actor_id, f"{target_type}.delete", target_type)


async def _get(model: type[T], item_id: int, what: str) -> T:
    row = await model.get_or_none(id=item_id)  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(f"{what} not found")
    return row


def _require_text(field: str, value: str, limit: int) -> str:
    return clean_text(value, field=field, max_length=limit)


@dataclass(frozen=True)
class BuildingValues:
    code: str
    name: str
    sort_order: int = 0


async def save_building(building_id: int | None, values: BuildingValues, actor_id: int | None) -> Building:
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

    return await edit_map(
        work, ("code", "another building has this code"), _change(actor_id, "building", building_id)
    )


@dataclass(frozen=True)
class FloorValues:
    building_id: int
    name: str
    level: int


async def save_floor(floor_id: int | None, values: FloorValues, actor_id: int | None) -> Floor:
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

    return await edit_map(
        work,
        ("name", "the building already has a floor with this name or level"),
        _change(actor_id, "floor", floor_id),
    )


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


async def save_point(point_id: int | None, values: PointValues, actor_id: int | None) -> MapPoint:
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

    return await edit_map(
        work,
        ("key", "the key or the marker id is already used by another point"),
        _change(actor_id, "map_point", point_id),
    )


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


async def save_edge(edge_id: int | None, values: EdgeValues, actor_id: int | None) -> MapEdge:
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

    return await edit_map(
        work, ("startId", "the edge clashes with another"), _change(actor_id, "map_edge", edge_id)
    )


async def set_edge_closed(edge_id: int, closed: bool, actor_id: int | None) -> MapEdge:
    async def work() -> MapEdge:
        edge = await _get(MapEdge, edge_id, "map edge")
        edge.closed = closed
        await edge.save(update_fields=["closed"])
        return edge

    action = "map_edge.close" if closed else "map_edge.reopen"
    return await edit_map(work, ("id", "the edge changed meanwhile"), MapChange(actor_id, action, "map_edge"))


async def delete_building(building_id: int, actor_id: int | None) -> int:
    async def work() -> int:
        await _get(Building, building_id, "building")
        if await Floor.exists(building_id=building_id):
            raise MapInUse("the building still has floors; delete them first")
        await Building.filter(id=building_id).delete()
        return building_id

    return await edit_map(work, ("id", "the building is in use"), _deleted(actor_id, "building"))


async def delete_floor(floor_id: int, actor_id: int | None) -> int:
    async def work() -> int:
        await _get(Floor, floor_id, "floor")
        if await MapPoint.exists(floor_id=floor_id):
            raise MapInUse("the floor still has points; delete them first")
        await Floor.filter(id=floor_id).delete()
        return floor_id

    return await edit_map(work, ("id", "the floor is in use"), _deleted(actor_id, "floor"))


async def delete_point(point_id: int, actor_id: int | None) -> int:
    async def work() -> int:
        await _get(MapPoint, point_id, "map point")
        # A point's edges mean nothing without it: they go with it.
        await MapEdge.filter(start_id=point_id).delete()
        await MapEdge.filter(end_id=point_id).delete()
        await MapPoint.filter(id=point_id).delete()
        return point_id

    return await edit_map(work, ("id", "the point is in use"), _deleted(actor_id, "map_point"))


async def delete_edge(edge_id: int, actor_id: int | None) -> int:
    async def work() -> int:
        await _get(MapEdge, edge_id, "map edge")
        await MapEdge.filter(id=edge_id).delete()
        return edge_id

    return await edit_map(work, ("id", "the edge is in use"), _deleted(actor_id, "map_edge"))


async def buildings() -> list[Building]:
    return await Building.all().order_by("sort_order", "code")


async def points_of_floor(floor_id: int) -> list[MapPoint]:
    return await MapPoint.filter(floor_id=floor_id).order_by("id")


async def edges_of_floor(floor_id: int | None) -> list[MapEdge]:
    if floor_id is None:
        return await MapEdge.all().order_by("id")
    point_ids = MapPoint.filter(floor_id=floor_id).values_list("id", flat=True)
    return await MapEdge.filter(start_id__in=await point_ids).order_by("id")
