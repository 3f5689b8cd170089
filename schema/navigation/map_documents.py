"""The whole map as one JSON document: `importMap` and `exportMap`."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types.info import Info

from models.navigation_map_document import MapDocumentInvalid
from resolvers.navigation import map_documents
from schema.errors import Error, InvalidInputError, maps
from schema.list_bounds import planned
from schema.permissions import IsAdmin

PLANNED_MAP_PROBLEMS = 100


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
    problems: list[MapProblem] = strawberry.field(metadata=planned(PLANNED_MAP_PROBLEMS))


@strawberry.type
class MapImported:
    buildings: int
    floors: int
    points: int
    edges: int


ImportMapResult = Annotated[
    MapImported | MapDocumentInvalidError | InvalidInputError, strawberry.union("ImportMapResult")
]


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAdmin], description="The whole map as one JSON document.")
    async def export_map(self) -> JSON:
        return cast(JSON, await map_documents.export_map())


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Replaces the whole map, or nothing.")
    async def import_map(self, info: Info, document: JSON) -> ImportMapResult:
        summary = await map_documents.import_map(document, info.context.viewer.account_id)
        return MapImported(
            buildings=summary.buildings, floors=summary.floors, points=summary.points, edges=summary.edges
        )
