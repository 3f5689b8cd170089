"""The hospital map: buildings, floors and a graph of points joined by edges (indoor navigation).

Coordinates are metres on the plan of their floor, x to the right (east) and y up (north), so a
counter-clockwise turn is a left turn (docs/decisions/081-map-coordinates-and-turns.md).
"""

from __future__ import annotations

import contextlib
import secrets
from enum import StrEnum

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.models import Model


class PointKind(StrEnum):
    ENTRANCE = "entrance"
    JUNCTION = "junction"
    LIFT = "lift"
    STAIRS = "stairs"
    ESCALATOR = "escalator"
    ROOM = "room"
    DESK = "desk"
    PHARMACY = "pharmacy"
    TOILET = "toilet"
    OTHER = "other"


class MapVersion(Model):
    # One row (id 1). Every change of the map bumps `version` inside its transaction; each process
    # caches the routing graph keyed by it (docs/decisions/083-graph-cache-by-map-version.md).
    # `stamp` is random per row: a database rebuilt from scratch never reuses a cached (stamp, version).
    id = fields.IntField(primary_key=True)
    stamp = fields.CharField(max_length=32)
    version = fields.IntField(default=1)

    class Meta:
        table = "navigation_map_version"


class Building(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)  # "A", "MZ": what the import document names
    name = fields.CharField(max_length=64)
    sort_order = fields.IntField(default=0)

    class Meta:
        table = "navigation_building"


class Floor(Model):
    id = fields.IntField(primary_key=True)
    building_id: int
    building: fields.ForeignKeyRelation[Building] = fields.ForeignKeyField(
        "models.Building", related_name="floors", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=16)  # "B1", "1F", "3F": what instructions say
    level = fields.IntField()  # storey number (B1 = -1); floor changes cost per level crossed

    class Meta:
        table = "navigation_floor"
        unique_together = (("building", "name"), ("building", "level"))


class MapPoint(Model):
    id = fields.IntField(primary_key=True)
    floor_id: int
    key = fields.CharField(max_length=64, unique=True)  # stable name used by the import document
    floor: fields.ForeignKeyRelation[Floor] = fields.ForeignKeyField(
        "models.Floor", related_name="points", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(PointKind, max_length=16)
    name = fields.CharField(max_length=64, default="")
    x = fields.FloatField()
    y = fields.FloatField()
    # Links to the catalogue are plain nullable ids: the catalogue may archive or renumber rooms
    # without the map blocking it, and an import validates them.
    room_id = fields.IntField(null=True, db_index=True)
    department_id = fields.IntField(null=True, db_index=True)
    # The QR marker placed at this point (uppercase letters, digits and '-'); signed when printed.
    marker_id = fields.CharField(max_length=32, null=True, unique=True)

    class Meta:
        table = "navigation_point"


class MapEdge(Model):
    id = fields.IntField(primary_key=True)
    start_id: int
    end_id: int
    start: fields.ForeignKeyRelation[MapPoint] = fields.ForeignKeyField(
        "models.MapPoint", related_name="edges_out", on_delete=fields.RESTRICT
    )
    end: fields.ForeignKeyRelation[MapPoint] = fields.ForeignKeyField(
        "models.MapPoint", related_name="edges_in", on_delete=fields.RESTRICT
    )
    length_m = fields.FloatField()
    stairs = fields.BooleanField(default=False)
    lift = fields.BooleanField(default=False)
    escalator = fields.BooleanField(default=False)
    one_way = fields.BooleanField(default=False)  # passable only from start to end
    step_free = fields.BooleanField(default=True)  # False: a kerb or steps, avoided when accessible
    closed = fields.BooleanField(default=False)  # temporarily closed; never routed through

    class Meta:
        table = "navigation_edge"


MAP_VERSION_ROW = 1


async def ensure_map_version_row() -> None:
    """Run before opening a map-changing transaction: a failed INSERT inside one would abort it on
    PostgreSQL, so the row is created on its own first."""
    if await MapVersion.filter(id=MAP_VERSION_ROW).exists():
        return
    with contextlib.suppress(IntegrityError):  # another request created it first
        await MapVersion.create(id=MAP_VERSION_ROW, stamp=secrets.token_hex(16), version=1)


async def bump_map_version() -> None:
    """Call inside the transaction of every map change, after `ensure_map_version_row()`."""
    await MapVersion.filter(id=MAP_VERSION_ROW).update(version=F("version") + 1)


async def current_map_version() -> tuple[str, int] | None:
    """(stamp, version), or None while the map has never been edited."""
    rows = await MapVersion.filter(id=MAP_VERSION_ROW).values_list("stamp", "version")
    return (str(rows[0][0]), int(rows[0][1])) if rows else None


async def point_for_marker(marker_id: str) -> MapPoint | None:
    """The point a (verified) marker id is placed at; check-in uses its `room_id`."""
    return await MapPoint.get_or_none(marker_id=marker_id)
