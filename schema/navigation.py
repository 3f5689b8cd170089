"""Indoor navigation: the hospital map, signed QR markers and step-by-step routes."""

from __future__ import annotations

from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types.info import Info

from models import navigation as map_models
from models import routing
from models.navigation import PointKind
from models.navigation_map_document import MapDocumentInvalid
from models.navigation_markers import InvalidMarker
from models.routing import NoRouteReason, StepAction
from resolvers import navigation as use_cases
from resolvers.navigation import MapInUse, NoVisitToday
from schema.errors import Error, InvalidInputError, NotFoundError, maps
from schema.permissions import IsAdmin, IsPatient

# The domain enums are the GraphQL enums (strawberry.enum registers the class itself).
strawberry.enum(PointKind, name="MapPointKind")
strawberry.enum(StepAction, name="RouteStepAction")
strawberry.enum(NoRouteReason, name="NoRouteReason")


def _id(value: int) -> strawberry.ID:
    return strawberry.ID(str(value))


@strawberry.type(description="A QR marker as printed: the signed code and the URL the QR encodes.")
class SignedMarker:
    marker_id: str
    code: str
    url: str
    svg_path: str
    png_path: str


@strawberry.type
class MapPoint:
    id: strawberry.ID
    key: str
    kind: PointKind
    name: str
    x: float = strawberry.field(description="Metres on the floor plan, to the right (east).")
    y: float = strawberry.field(description="Metres on the floor plan, up (north).")
    floor_id: strawberry.ID
    room_id: strawberry.ID | None
    department_id: strawberry.ID | None
    marker_id: str | None

    @strawberry.field(permission_classes=[IsAdmin], description="For printing; administrators only.")
    def signed_marker(self, info: Info) -> SignedMarker | None:
        if self.marker_id is None:
            return None
        printable = use_cases.printable_marker(info.context.settings, self.marker_id)
        return SignedMarker(
            marker_id=self.marker_id,
            code=printable.signed.code,
            url=printable.url,
            svg_path=f"/navigation/qr/{self.marker_id}.svg",
            png_path=f"/navigation/qr/{self.marker_id}.png",
        )

    @classmethod
    def from_model(cls, row: map_models.MapPoint) -> MapPoint:
        return cls(
            id=_id(row.id),
            key=row.key,
            kind=row.kind,
            name=row.name,
            x=row.x,
            y=row.y,
            floor_id=_id(row.floor_id),
            room_id=_id(row.room_id) if row.room_id is not None else None,
            department_id=_id(row.department_id) if row.department_id is not None else None,
            marker_id=row.marker_id,
        )


@strawberry.type
class Floor:
    id: strawberry.ID
    building_id: strawberry.ID
    name: str
    level: int

    @classmethod
    def from_model(cls, row: map_models.Floor) -> Floor:
        return cls(id=_id(row.id), building_id=_id(row.building_id), name=row.name, level=row.level)


@strawberry.type
class Building:
    id: strawberry.ID
    code: str
    name: str
    sort_order: int

    @strawberry.field
    async def floors(self, info: Info) -> list[Floor]:
        rows = await info.context.loader(use_cases.FloorsByBuildingLoader).load(int(self.id))
        return [Floor.from_model(f) for f in rows]

    @classmethod
    def from_model(cls, row: map_models.Building) -> Building:
        return cls(id=_id(row.id), code=row.code, name=row.name, sort_order=row.sort_order)


@strawberry.type
class MapEdge:
    id: strawberry.ID
    start_id: strawberry.ID
    end_id: strawberry.ID
    length_m: float
    stairs: bool
    lift: bool
    escalator: bool
    one_way: bool = strawberry.field(description="Passable only from start to end.")
    step_free: bool
    closed: bool = strawberry.field(description="Temporarily closed: never routed through.")

    @classmethod
    def from_model(cls, row: map_models.MapEdge) -> MapEdge:
        return cls(
            id=_id(row.id),
            start_id=_id(row.start_id),
            end_id=_id(row.end_id),
            length_m=row.length_m,
            stairs=row.stairs,
            lift=row.lift,
            escalator=row.escalator,
            one_way=row.one_way,
            step_free=row.step_free,
            closed=row.closed,
        )


@strawberry.type
class RoutePoint:
    id: strawberry.ID
    key: str
    name: str
    kind: PointKind
    building_name: str
    floor_name: str
    level: int
    x: float
    y: float


@strawberry.type
class RouteStep:
    action: StepAction
    instruction_zh: str = strawberry.field(description="直行 20 米, 乘电梯到 3F, 左转, 诊室在您左手边 …")
    instruction_en: str
    distance_m: float
    floor_name: str
    from_index: int = strawberry.field(description="Index into `points` where this step begins.")
    to_index: int


@strawberry.type
class Route:
    distance_m: float
    walking_seconds: int
    floors_crossed: int
    accessible: bool
    steps: list[RouteStep]
    points: list[RoutePoint] = strawberry.field(description="The path, in order, for drawing.")
    destination: RoutePoint

    @classmethod
    def from_model(cls, route: routing.Route) -> Route:
        points = [
            RoutePoint(
                id=_id(p.id),
                key=p.key,
                name=p.name,
                kind=p.kind,
                building_name=p.building_name,
                floor_name=p.floor_name,
                level=p.level,
                x=p.x,
                y=p.y,
            )
            for p in route.points
        ]
        steps = [
            RouteStep(
                action=s.action,
                instruction_zh=s.instruction_zh,
                instruction_en=s.instruction_en,
                distance_m=s.distance_m,
                floor_name=s.floor_name,
                from_index=s.from_index,
                to_index=s.to_index,
            )
            for s in route.steps
        ]
        return cls(
            distance_m=route.distance_m,
            walking_seconds=route.walking_seconds,
            floors_crossed=route.floors_crossed,
            accessible=route.accessible,
            steps=steps,
            points=points,
            destination=points[-1],
        )


@strawberry.type
class MapProblem:
    path: str = strawberry.field(description="Where in the document, e.g. `edges[3].to`.")
    code: str = strawberry.field(
        description="UNKNOWN_POINT, DISCONNECTED_ROOM, DUPLICATE_MARKER, UNKNOWN_ROOM, INVALID_VALUE …"
    )
    message: str


@maps(MapDocumentInvalid)
@strawberry.type
class MapDocumentInvalidError(Error):
    problems: list[MapProblem]


@maps(routing.NoRoute)
@strawberry.type
class NoRouteError(Error):
    reason: NoRouteReason


@maps(InvalidMarker)
@strawberry.type
class InvalidMarkerError(Error):
    pass


@maps(NoVisitToday)
@strawberry.type
class NoVisitTodayError(Error):
    pass


@maps(MapInUse)
@strawberry.type
class MapInUseError(Error):
    pass


@strawberry.type
class MapImported:
    buildings: int
    floors: int
    points: int
    edges: int


@strawberry.type
class DeletedMapItem:
    id: strawberry.ID


RouteResult = Annotated[
    Route | NoRouteError | InvalidMarkerError | NotFoundError | InvalidInputError,
    strawberry.union("RouteResult"),
]
NextVisitRouteResult = Annotated[
    Route | NoRouteError | InvalidMarkerError | NoVisitTodayError, strawberry.union("NextVisitRouteResult")
]
ImportMapResult = Annotated[
    MapImported | MapDocumentInvalidError | InvalidInputError, strawberry.union("ImportMapResult")
]
BuildingResult = Annotated[Building | InvalidInputError | NotFoundError, strawberry.union("BuildingResult")]
FloorResult = Annotated[Floor | InvalidInputError | NotFoundError, strawberry.union("FloorResult")]
MapPointResult = Annotated[MapPoint | InvalidInputError | NotFoundError, strawberry.union("MapPointResult")]
MapEdgeResult = Annotated[MapEdge | InvalidInputError | NotFoundError, strawberry.union("MapEdgeResult")]
DeleteMapItemResult = Annotated[
    DeletedMapItem | NotFoundError | MapInUseError | InvalidInputError,
    strawberry.union("DeleteMapItemResult"),
]


@strawberry.input(
    one_of=True, description="Where to go: exactly one of a room, a department or your booking."
)
class RouteTarget:
    room_id: strawberry.ID | None = strawberry.UNSET
    department_id: strawberry.ID | None = strawberry.UNSET
    booking_id: strawberry.ID | None = strawberry.UNSET

    def to_target(self) -> use_cases.RouteTarget:
        def number(value: Any) -> int | None:
            return int(value) if value not in (None, strawberry.UNSET) else None

        return use_cases.RouteTarget(
            number(self.room_id), number(self.department_id), number(self.booking_id)
        )


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

    def values(self) -> use_cases.PointValues:
        return use_cases.PointValues(
            floor_id=int(self.floor_id),
            key=self.key,
            kind=self.kind,
            x=self.x,
            y=self.y,
            name=self.name,
            room_id=int(self.room_id) if self.room_id is not None else None,
            department_id=int(self.department_id) if self.department_id is not None else None,
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

    def values(self) -> use_cases.EdgeValues:
        return use_cases.EdgeValues(
            start_id=int(self.start_id),
            end_id=int(self.end_id),
            length_m=self.length_m,
            stairs=self.stairs,
            lift=self.lift,
            escalator=self.escalator,
            one_way=self.one_way,
            step_free=self.step_free,
            closed=self.closed,
        )


def _building_values(input: BuildingInput) -> use_cases.BuildingValues:
    return use_cases.BuildingValues(input.code, input.name, input.sort_order)


def _floor_values(input: FloorInput) -> use_cases.FloorValues:
    return use_cases.FloorValues(int(input.building_id), input.name, input.level)


From = Annotated[str, strawberry.argument(name="from", description="The scanned QR code or its URL.")]


@strawberry.type
class Query:
    @strawberry.field(description="The hospital map: buildings, their floors and points.")
    async def buildings(self) -> list[Building]:
        return [Building.from_model(b) for b in await use_cases.buildings()]

    @strawberry.field(description="The points of one floor (a whole map is `exportMap`).")
    async def map_points(self, floor_id: strawberry.ID) -> list[MapPoint]:
        return [MapPoint.from_model(p) for p in await use_cases.points_of_floor(int(floor_id))]

    @strawberry.field(permission_classes=[IsAdmin])
    async def map_edges(self, floor_id: strawberry.ID | None = None) -> list[MapEdge]:
        rows = await use_cases.edges_of_floor(int(floor_id) if floor_id is not None else None)
        return [MapEdge.from_model(e) for e in rows]

    @strawberry.field(permission_classes=[IsAdmin], description="The whole map as one JSON document.")
    async def export_map(self) -> JSON:
        return cast(JSON, await use_cases.export_map())

    @strawberry.field(description="Turn-by-turn directions from a scanned QR marker.")
    async def route(self, info: Info, from_: From, to: RouteTarget, accessible: bool = False) -> RouteResult:
        return Route.from_model(await use_cases.route(info.context, from_, to.to_target(), accessible))

    @strawberry.field(permission_classes=[IsPatient], description="Directions to your next visit today.")
    async def my_next_visit_route(
        self, info: Info, marker_code: str, accessible: bool = False
    ) -> NextVisitRouteResult:
        return Route.from_model(await use_cases.my_next_visit_route(info.context, marker_code, accessible))


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Replaces the whole map, or nothing.")
    async def import_map(self, document: JSON) -> ImportMapResult:
        summary = await use_cases.import_map(document)
        return MapImported(
            buildings=summary.buildings, floors=summary.floors, points=summary.points, edges=summary.edges
        )

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_building(self, input: BuildingInput) -> BuildingResult:
        return Building.from_model(await use_cases.save_building(None, _building_values(input)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_building(self, id: strawberry.ID, input: BuildingInput) -> BuildingResult:
        return Building.from_model(await use_cases.save_building(int(id), _building_values(input)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def delete_building(self, id: strawberry.ID) -> DeleteMapItemResult:
        return DeletedMapItem(id=_id(await use_cases.delete_building(int(id))))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_floor(self, input: FloorInput) -> FloorResult:
        return Floor.from_model(await use_cases.save_floor(None, _floor_values(input)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_floor(self, id: strawberry.ID, input: FloorInput) -> FloorResult:
        return Floor.from_model(await use_cases.save_floor(int(id), _floor_values(input)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def delete_floor(self, id: strawberry.ID) -> DeleteMapItemResult:
        return DeletedMapItem(id=_id(await use_cases.delete_floor(int(id))))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_map_point(self, input: MapPointInput) -> MapPointResult:
        return MapPoint.from_model(await use_cases.save_point(None, input.values()))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_map_point(self, id: strawberry.ID, input: MapPointInput) -> MapPointResult:
        return MapPoint.from_model(await use_cases.save_point(int(id), input.values()))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Also deletes the point's edges.")
    async def delete_map_point(self, id: strawberry.ID) -> DeleteMapItemResult:
        return DeletedMapItem(id=_id(await use_cases.delete_point(int(id))))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_map_edge(self, input: MapEdgeInput) -> MapEdgeResult:
        return MapEdge.from_model(await use_cases.save_edge(None, input.values()))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_map_edge(self, id: strawberry.ID, input: MapEdgeInput) -> MapEdgeResult:
        return MapEdge.from_model(await use_cases.save_edge(int(id), input.values()))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Temporarily close or reopen a passage.")
    async def set_map_edge_closed(self, id: strawberry.ID, closed: bool) -> MapEdgeResult:
        return MapEdge.from_model(await use_cases.set_edge_closed(int(id), closed))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def delete_map_edge(self, id: strawberry.ID) -> DeleteMapItemResult:
        return DeletedMapItem(id=_id(await use_cases.delete_edge(int(id))))
