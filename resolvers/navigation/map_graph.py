"""The whole map as a routing graph, cached per process and rebuilt when the map version moves."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from models.navigation import (
    Building,
    Floor,
    MapEdge,
    MapPoint,
    PointKind,
    current_map_version,
)
from models.routing import GraphEdge, GraphPoint, MapGraph

T = TypeVar("T")


_cached_graph: MapGraph | None = None
_graph_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None


def _lock() -> asyncio.Lock:
    # One lock per event loop: a lock used from a second loop (CLI runs, benchmarks) would raise.
    global _graph_lock
    loop = asyncio.get_running_loop()
    if _graph_lock is None or _graph_lock[0] is not loop:
        _graph_lock = (loop, asyncio.Lock())
    return _graph_lock[1]


async def load_graph(floor_change_cost_m: float | None = None) -> MapGraph:
    """The whole map as a graph. One cheap query per call checks the map version stored in the
    database; the graph is rebuilt only when an edit (in any process) has bumped it. Given the
    cost of a floor change (a setting), a rebuild also builds the search views routes use."""
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
        if floor_change_cost_m is not None:
            for accessible in (False, True):  # build the search views now, not in a visitor's request
                graph.weighted(floor_change_cost_m, accessible, True)
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
