"""The hospital map as clients read it: buildings, floors, points, edges and printed markers."""

from __future__ import annotations

import strawberry
from strawberry.types.info import Info

from models import navigation as map_models
from models.navigation import PointKind
from resolvers.loaders import FloorsByBuildingLoader
from resolvers.navigation import markers
from schema.ids import render_id
from schema.list_bounds import planned
from schema.permissions import IsAdmin

# The domain enums are the GraphQL enums (strawberry.enum registers the class itself).
strawberry.enum(PointKind, name="MapPointKind")


PLANNED_FLOORS_PER_BUILDING = 30


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
        printable = markers.printable_marker(info.context.settings, self.marker_id)
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
            id=render_id(row.id),
            key=row.key,
            kind=row.kind,
            name=row.name,
            x=row.x,
            y=row.y,
            floor_id=render_id(row.floor_id),
            room_id=render_id(row.room_id) if row.room_id is not None else None,
            department_id=render_id(row.department_id) if row.department_id is not None else None,
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
        building_id = render_id(row.building_id)
        return cls(id=render_id(row.id), building_id=building_id, name=row.name, level=row.level)


@strawberry.type
class Building:
    id: strawberry.ID
    code: str
    name: str
    sort_order: int

    @strawberry.field(metadata=planned(PLANNED_FLOORS_PER_BUILDING))
    async def floors(self, info: Info) -> list[Floor]:
        rows = await info.context.loader(FloorsByBuildingLoader).load(int(self.id))
        return [Floor.from_model(f) for f in rows]

    @classmethod
    def from_model(cls, row: map_models.Building) -> Building:
        return cls(id=render_id(row.id), code=row.code, name=row.name, sort_order=row.sort_order)


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
            id=render_id(row.id),
            start_id=render_id(row.start_id),
            end_id=render_id(row.end_id),
            length_m=row.length_m,
            stairs=row.stairs,
            lift=row.lift,
            escalator=row.escalator,
            one_way=row.one_way,
            step_free=row.step_free,
            closed=row.closed,
        )
