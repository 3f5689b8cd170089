"""Editing the map item by item, and reading it floor by floor."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types.info import Info

from models.navigation import PointKind
from resolvers.navigation import map_editing
from resolvers.navigation.map_editing import MapInUse
from schema.errors import Error, InvalidInputError, NotFoundError, maps
from schema.ids import parse_id, parse_optional_id, render_id
from schema.list_bounds import planned
from schema.navigation.map_types import Building, Floor, MapEdge, MapPoint
from schema.permissions import IsAdmin

# The map is the hospital's own (decision 211): the size a hospital of ours is planned for.
PLANNED_BUILDINGS = 20
PLANNED_POINTS_PER_FLOOR = 500
PLANNED_EDGES = 1000


def _actor(info: Info) -> int | None:
    return info.context.viewer.account_id


@maps(MapInUse)
@strawberry.type
class MapInUseError(Error):
    pass


@strawberry.type
class DeletedMapItem:
    id: strawberry.ID


BuildingResult = Annotated[Building | InvalidInputError | NotFoundError, strawberry.union("BuildingResult")]
FloorResult = Annotated[Floor | InvalidInputError | NotFoundError, strawberry.union("FloorResult")]
MapPointResult = Annotated[MapPoint | InvalidInputError | NotFoundError, strawberry.union("MapPointResult")]
MapEdgeResult = Annotated[MapEdge | InvalidInputError | NotFoundError, strawberry.union("MapEdgeResult")]
DeleteMapItemResult = Annotated[
    DeletedMapItem | NotFoundError | MapInUseError | InvalidInputError,
    strawberry.union("DeleteMapItemResult"),
]


@strawberry.input
class BuildingInput:
    code: str
    name: str
    sort_order: int = 0


@strawberry.input
class FloorInput:
    building_id: strawberry.ID
    name: str
    level: int


@strawberry.input
class MapPointInput:
    floor_id: strawberry.ID
    key: str
    kind: PointKind
    x: float
    y: float
    name: str = ""
    room_id: strawberry.ID | None = None
    department_id: strawberry.ID | None = None
    marker_id: str | None = None

    def values(self) -> map_editing.PointValues:
        return map_editing.PointValues(
            floor_id=parse_id(self.floor_id, "floorId"),
            key=self.key,
            kind=self.kind,
            x=self.x,
            y=self.y,
            name=self.name,
            room_id=parse_optional_id(self.room_id, "roomId"),
            department_id=parse_optional_id(self.department_id, "departmentId"),
            marker_id=self.marker_id,
        )


@strawberry.input
class MapEdgeInput:
    start_id: strawberry.ID
    end_id: strawberry.ID
    length_m: float | None = strawberry.field(
        default=None, description="Omit for the straight distance between points on one floor."
    )
    stairs: bool = False
    lift: bool = False
    escalator: bool = False
    one_way: bool = False
    step_free: bool = True
    closed: bool = False

    def values(self) -> map_editing.EdgeValues:
        return map_editing.EdgeValues(
            start_id=parse_id(self.start_id, "startId"),
            end_id=parse_id(self.end_id, "endId"),
            length_m=self.length_m,
            stairs=self.stairs,
            lift=self.lift,
            escalator=self.escalator,
            one_way=self.one_way,
            step_free=self.step_free,
            closed=self.closed,
        )


def _building_values(input: BuildingInput) -> map_editing.BuildingValues:
    return map_editing.BuildingValues(input.code, input.name, input.sort_order)


def _floor_values(input: FloorInput) -> map_editing.FloorValues:
    return map_editing.FloorValues(parse_id(input.building_id, "buildingId"), input.name, input.level)


@strawberry.type
class Query:
    @strawberry.field(
        description="The hospital map: buildings, their floors and points.",
        metadata=planned(PLANNED_BUILDINGS),
    )
    async def buildings(self) -> list[Building]:
        return [Building.from_model(b) for b in await map_editing.buildings()]

    @strawberry.field(
        description="The points of one floor (a whole map is `exportMap`).",
        metadata=planned(PLANNED_POINTS_PER_FLOOR),
    )
    async def map_points(self, floor_id: strawberry.ID) -> list[MapPoint]:
        return [
            MapPoint.from_model(p) for p in await map_editing.points_of_floor(parse_id(floor_id, "floorId"))
        ]

    @strawberry.field(permission_classes=[IsAdmin], metadata=planned(PLANNED_EDGES))
    async def map_edges(self, floor_id: strawberry.ID | None = None) -> list[MapEdge]:
        rows = await map_editing.edges_of_floor(parse_optional_id(floor_id, "floorId"))
        return [MapEdge.from_model(e) for e in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_building(self, info: Info, input: BuildingInput) -> BuildingResult:
        return Building.from_model(
            await map_editing.save_building(None, _building_values(input), _actor(info))
        )

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_building(self, info: Info, id: strawberry.ID, input: BuildingInput) -> BuildingResult:
        return Building.from_model(
            await map_editing.save_building(parse_id(id), _building_values(input), _actor(info))
        )

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def delete_building(self, info: Info, id: strawberry.ID) -> DeleteMapItemResult:
        return DeletedMapItem(id=render_id(await map_editing.delete_building(parse_id(id), _actor(info))))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_floor(self, info: Info, input: FloorInput) -> FloorResult:
        return Floor.from_model(await map_editing.save_floor(None, _floor_values(input), _actor(info)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_floor(self, info: Info, id: strawberry.ID, input: FloorInput) -> FloorResult:
        return Floor.from_model(
            await map_editing.save_floor(parse_id(id), _floor_values(input), _actor(info))
        )

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def delete_floor(self, info: Info, id: strawberry.ID) -> DeleteMapItemResult:
        return DeletedMapItem(id=render_id(await map_editing.delete_floor(parse_id(id), _actor(info))))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_map_point(self, info: Info, input: MapPointInput) -> MapPointResult:
        return MapPoint.from_model(await map_editing.save_point(None, input.values(), _actor(info)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_map_point(self, info: Info, id: strawberry.ID, input: MapPointInput) -> MapPointResult:
        return MapPoint.from_model(await map_editing.save_point(parse_id(id), input.values(), _actor(info)))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Also deletes the point's edges.")
    async def delete_map_point(self, info: Info, id: strawberry.ID) -> DeleteMapItemResult:
        return DeletedMapItem(id=render_id(await map_editing.delete_point(parse_id(id), _actor(info))))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_map_edge(self, info: Info, input: MapEdgeInput) -> MapEdgeResult:
        return MapEdge.from_model(await map_editing.save_edge(None, input.values(), _actor(info)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_map_edge(self, info: Info, id: strawberry.ID, input: MapEdgeInput) -> MapEdgeResult:
        return MapEdge.from_model(await map_editing.save_edge(parse_id(id), input.values(), _actor(info)))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Temporarily close or reopen a passage.")
    async def set_map_edge_closed(self, info: Info, id: strawberry.ID, closed: bool) -> MapEdgeResult:
        return MapEdge.from_model(await map_editing.set_edge_closed(parse_id(id), closed, _actor(info)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def delete_map_edge(self, info: Info, id: strawberry.ID) -> DeleteMapItemResult:
        return DeletedMapItem(id=render_id(await map_editing.delete_edge(parse_id(id), _actor(info))))
