"""Small hand-checked maps shared by the navigation tests, as import documents.

The clinic map (one building, two floors; metres, x east, y north):

    2F   S2(20,10)──K1(20,20)──D(30,20)──K2(40,20)──L2(40,10)        R(30,23) hangs 3 m north of D
           │ stairs 8 m                                   │ lift 4 m
    1F   S1(20,10)                                      L1(40,10)
           │                                              │
         E(0,0)────────J1(20,0)──────────────J2(40,0)─────┘

By stairs E→R walks 20+10+8+10+10+3 = 61 m (weight 81 with 20 per floor); by lift 20+20+10+4+10+10+3 = 77 m.
"""

from __future__ import annotations

import copy
from typing import Any

from models.navigation_map_document import MapDocument, parse_map_document
from models.routing import GraphEdge, GraphPoint, MapGraph


def clinic_document(room_id: int | None = None, department_id: int | None = None) -> dict[str, Any]:
    def point(key: str, floor: str, kind: str, x: float, y: float, **extra: Any) -> dict[str, Any]:
        return {
            "key": key,
            "building": "A",
            "floor": floor,
            "kind": kind,
            "name": key,
            "x": x,
            "y": y,
            **extra,
        }

    return copy.deepcopy(
        {
            "format": "gualema-map/1",
            "buildings": [
                {
                    "code": "A",
                    "name": "门诊楼",
                    "floors": [{"name": "1F", "level": 1}, {"name": "2F", "level": 2}],
                }
            ],
            "points": [
                point("E", "1F", "ENTRANCE", 0, 0, markerId="A-1F-ENTRANCE"),
                point("J1", "1F", "JUNCTION", 20, 0),
                point("J2", "1F", "JUNCTION", 40, 0),
                point("S1", "1F", "STAIRS", 20, 10),
                point("L1", "1F", "LIFT", 40, 10, markerId="A-1F-LIFT"),
                point("S2", "2F", "STAIRS", 20, 10),
                point("L2", "2F", "LIFT", 40, 10),
                point("K1", "2F", "JUNCTION", 20, 20),
                point("D", "2F", "JUNCTION", 30, 20),
                point("K2", "2F", "JUNCTION", 40, 20),
                point(
                    "R",
                    "2F",
                    "ROOM",
                    30,
                    23,
                    roomId=room_id,
                    departmentId=department_id,
                    markerId="A-2F-R201",
                ),
            ],
            "edges": [
                {"from": "E", "to": "J1"},
                {"from": "J1", "to": "J2"},
                {"from": "J2", "to": "L1"},
                {"from": "J1", "to": "S1"},
                {"from": "S1", "to": "S2", "lengthM": 8, "stairs": True, "stepFree": False},
                {"from": "L1", "to": "L2", "lengthM": 4, "lift": True},
                {"from": "S2", "to": "K1"},
                {"from": "L2", "to": "K2"},
                {"from": "K1", "to": "D"},
                {"from": "D", "to": "K2"},
                {"from": "D", "to": "R"},
            ],
        }
    )


def graph_of(document: MapDocument) -> MapGraph:
    """The in-memory graph the database would give, numbering points in document order from 1."""
    levels = {(b.code, f.name): f.level for b in document.buildings for f in b.floors}
    floor_ids = {place: i for i, place in enumerate(levels, start=1)}
    ids = {p.key: i for i, p in enumerate(document.points, start=1)}
    points = [
        GraphPoint(
            ids[p.key],
            p.key,
            p.name,
            p.kind,
            floor_ids[(p.building, p.floor)],
            p.floor,
            levels[(p.building, p.floor)],
            1,
            p.building,
            p.x,
            p.y,
            p.room_id,
            p.department_id,
            p.marker_id,
        )
        for p in document.points
    ]
    edges = [
        GraphEdge(
            i,
            ids[e.start],
            ids[e.end],
            e.length_m,
            e.stairs,
            e.lift,
            e.escalator,
            e.one_way,
            e.step_free,
            e.closed,
        )
        for i, e in enumerate(document.edges, start=1)
    ]
    return MapGraph(points, edges)


def clinic_graph(changes: dict[tuple[str, str], dict[str, Any]] | None = None) -> MapGraph:
    """The clinic map with room 201 (department 20) at R; `changes` override flags of edges."""
    raw = clinic_document(room_id=201, department_id=20)
    for edge in raw["edges"]:
        for (start, end), flags in (changes or {}).items():
            if {edge["from"], edge["to"]} == {start, end}:
                edge.update(flags)
    return graph_of(parse_map_document(raw, {201}, {20}))


def key_of(graph: MapGraph, key: str) -> int:
    return next(p.id for p in graph.points.values() if p.key == key)
