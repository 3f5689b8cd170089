"""The whole map as one JSON document: imported all or nothing, exported as it stands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from models.catalogue import Department, Room
from models.navigation import (
    Building,
    Floor,
    MapEdge,
    MapPoint,
)
from models.navigation_map_document import (
    DocBuilding,
    DocEdge,
    DocFloor,
    DocPoint,
    MapDocument,
    parse_map_document,
)
from resolvers.navigation.map_editing import MapChange, edit_map

T = TypeVar("T")


@dataclass(frozen=True)
class ImportSummary:
    buildings: int
    floors: int
    points: int
    edges: int


async def import_map(raw: object, actor_id: int | None) -> ImportSummary:
    """Replace the whole map with the document: every problem reported, nothing half-imported."""
    room_ids: set[int] = set(await Room.all().values_list("id", flat=True))  # type: ignore[arg-type]
    department_ids: set[int] = set(await Department.all().values_list("id", flat=True))  # type: ignore[arg-type]
    document = parse_map_document(raw, room_ids, department_ids)
    return await edit_map(
        lambda: _replace_map(document),
        ("document", "the map changed meanwhile; try again"),
        MapChange(actor_id, "map.import", "map"),
    )


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
