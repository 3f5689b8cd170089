"""Routes from a scanned QR code: `route` and `myNextVisitRoute`."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types.info import Info

from models import routing
from models.navigation import PointKind
from models.navigation_markers import InvalidMarker
from models.routing import NoRouteReason, StepAction
from resolvers.navigation import routing as routes
from resolvers.navigation.routing import NoVisitToday
from schema.errors import Error, InvalidInputError, NotFoundError, maps
from schema.ids import parse_optional_id, render_id
from schema.list_bounds import planned
from schema.permissions import IsPatient

# The domain enums are the GraphQL enums (strawberry.enum registers the class itself).
strawberry.enum(StepAction, name="RouteStepAction")
strawberry.enum(NoRouteReason, name="NoRouteReason")


PLANNED_ROUTE_POINTS = 200


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
    # A path visits each map point once at most: the map's size bounds it.
    steps: list[RouteStep] = strawberry.field(metadata=planned(PLANNED_ROUTE_POINTS))
    points: list[RoutePoint] = strawberry.field(
        description="The path, in order, for drawing.", metadata=planned(PLANNED_ROUTE_POINTS)
    )
    destination: RoutePoint

    @classmethod
    def from_model(cls, route: routing.Route) -> Route:
        points = [
            RoutePoint(
                id=render_id(p.id),
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


RouteResult = Annotated[
    Route | NoRouteError | InvalidMarkerError | NotFoundError | InvalidInputError,
    strawberry.union("RouteResult"),
]
NextVisitRouteResult = Annotated[
    Route | NoRouteError | InvalidMarkerError | NoVisitTodayError, strawberry.union("NextVisitRouteResult")
]


@strawberry.input(
    one_of=True, description="Where to go: exactly one of a room, a department or your booking."
)
class RouteTarget:
    room_id: strawberry.ID | None = strawberry.UNSET
    department_id: strawberry.ID | None = strawberry.UNSET
    booking_id: strawberry.ID | None = strawberry.UNSET

    def to_target(self) -> routes.RouteTarget:
        return routes.RouteTarget(
            parse_optional_id(self.room_id, "roomId"),
            parse_optional_id(self.department_id, "departmentId"),
            parse_optional_id(self.booking_id, "bookingId"),
        )


From = Annotated[str, strawberry.argument(name="from", description="The scanned QR code or its URL.")]


@strawberry.type
class Query:
    @strawberry.field(description="Turn-by-turn directions from a scanned QR marker.")
    async def route(self, info: Info, from_: From, to: RouteTarget, accessible: bool = False) -> RouteResult:
        return Route.from_model(await routes.route(info.context, from_, to.to_target(), accessible))

    @strawberry.field(permission_classes=[IsPatient], description="Directions to your next visit today.")
    async def my_next_visit_route(
        self, info: Info, marker_code: str, accessible: bool = False
    ) -> NextVisitRouteResult:
        return Route.from_model(await routes.my_next_visit_route(info.context, marker_code, accessible))
