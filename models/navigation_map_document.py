"""The whole map as one JSON document (import/export), and its validation. Pure: no I/O.

Validation collects every problem with a path into the document (`edges[3].to`) and a code, so an
administrator fixes a map in one round (docs/decisions/085-map-document-import.md).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from models.errors import DomainError
from models.navigation import PointKind
from models.navigation_markers import marker_id_problem

FORMAT = "gualema-map/1"
KEY_LENGTH = 64
NAME_LENGTH = 64


@dataclass(frozen=True)
class MapProblem:
    path: str
    code: str
    message: str


class MapDocumentInvalid(DomainError):
    default_message = "the map document has problems; nothing was imported"

    def __init__(self, problems: list[MapProblem]) -> None:
        super().__init__(f"the map document has {len(problems)} problem(s); nothing was imported")
        self.problems = problems


@dataclass(frozen=True)
class DocFloor:
    name: str
    level: int


@dataclass(frozen=True)
class DocBuilding:
    code: str
    name: str
    sort_order: int
    floors: list[DocFloor]


@dataclass(frozen=True)
class DocPoint:
    key: str
    building: str
    floor: str
    kind: PointKind
    name: str
    x: float
    y: float
    room_id: int | None
    department_id: int | None
    marker_id: str | None


@dataclass(frozen=True)
class DocEdge:
    start: str
    end: str
    length_m: float
    stairs: bool
    lift: bool
    escalator: bool
    one_way: bool
    step_free: bool
    closed: bool


@dataclass
class MapDocument:
    buildings: list[DocBuilding] = field(default_factory=list)
    points: list[DocPoint] = field(default_factory=list)
    edges: list[DocEdge] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "buildings": [
                {
                    "code": b.code,
                    "name": b.name,
                    "sortOrder": b.sort_order,
                    "floors": [{"name": f.name, "level": f.level} for f in b.floors],
                }
                for b in self.buildings
            ],
            "points": [
                {
                    "key": p.key,
                    "building": p.building,
                    "floor": p.floor,
                    "kind": p.kind.name,
                    "name": p.name,
                    "x": p.x,
                    "y": p.y,
                    "roomId": p.room_id,
                    "departmentId": p.department_id,
                    "markerId": p.marker_id,
                }
                for p in self.points
            ],
            "edges": [
                {
                    "from": e.start,
                    "to": e.end,
                    "lengthM": e.length_m,
                    "stairs": e.stairs,
                    "lift": e.lift,
                    "escalator": e.escalator,
                    "oneWay": e.one_way,
                    "stepFree": e.step_free,
                    "closed": e.closed,
                }
                for e in self.edges
            ],
        }


class _Reader:
    """Reads typed values out of untrusted JSON, recording a problem instead of raising."""

    def __init__(self) -> None:
        self.problems: list[MapProblem] = []

    def problem(self, path: str, code: str, message: str) -> None:
        self.problems.append(MapProblem(path, code, message))

    def text(self, obj: dict[str, Any], name: str, path: str, *, limit: int, required: bool = True) -> str:
        value = obj.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
            self.problem(f"{path}.{name}", "INVALID_VALUE", f"{name} must be a text of 1-{limit} characters")
            return ""
        return value.strip()

    def number(self, obj: dict[str, Any], name: str, path: str, *, required: bool = True) -> float | None:
        value = obj.get(name)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.problem(f"{path}.{name}", "INVALID_VALUE", f"{name} must be a number")
            return None
        return float(value)

    def integer(self, obj: dict[str, Any], name: str, path: str, *, required: bool = True) -> int | None:
        value = obj.get(name)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{path}.{name}", "INVALID_VALUE", f"{name} must be an integer")
            return None
        return value

    def flag(self, obj: dict[str, Any], name: str, path: str, default: bool) -> bool:
        value = obj.get(name, default)
        if not isinstance(value, bool):
            self.problem(f"{path}.{name}", "INVALID_VALUE", f"{name} must be true or false")
            return default
        return value

    def objects(self, obj: dict[str, Any], name: str, path: str) -> list[tuple[str, dict[str, Any]]]:
        value = obj.get(name, [])
        where = f"{path}.{name}" if path else name
        if not isinstance(value, list):
            self.problem(where, "INVALID_DOCUMENT", f"{name} must be a list")
            return []
        items: list[tuple[str, dict[str, Any]]] = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                items.append((f"{where}[{index}]", item))
            else:
                self.problem(f"{where}[{index}]", "INVALID_DOCUMENT", "must be an object")
        return items


def parse_map_document(raw: object, known_room_ids: set[int], known_department_ids: set[int]) -> MapDocument:
    """A validated MapDocument, or MapDocumentInvalid listing every problem."""
    reader = _Reader()
    if not isinstance(raw, dict):
        raise MapDocumentInvalid([MapProblem("", "INVALID_DOCUMENT", "the document must be a JSON object")])
    if raw.get("format", FORMAT) != FORMAT:
        reader.problem("format", "INVALID_DOCUMENT", f"format must be {FORMAT!r}")
    document = MapDocument()
    floors_of: dict[str, dict[str, int]] = {}
    _read_buildings(reader, raw, document, floors_of)
    declared = _read_points(reader, raw, document, floors_of, known_room_ids, known_department_ids)
    _read_edges(reader, raw, document, declared)
    if not reader.problems:
        _check_connectivity(reader, document)
    if reader.problems:
        raise MapDocumentInvalid(reader.problems)
    return document


def _read_buildings(
    reader: _Reader, raw: dict[str, Any], document: MapDocument, floors_of: dict[str, dict[str, int]]
) -> None:
    for path, item in reader.objects(raw, "buildings", ""):
        code = reader.text(item, "code", path, limit=16)
        name = reader.text(item, "name", path, limit=NAME_LENGTH)
        sort_order = reader.integer(item, "sortOrder", path, required=False) or 0
        if code and code in floors_of:
            reader.problem(f"{path}.code", "DUPLICATE_BUILDING", f"building {code!r} appears twice")
            continue
        levels: dict[int, str] = {}
        names: dict[str, int] = {}
        floors: list[DocFloor] = []
        for floor_path, floor in reader.objects(item, "floors", path):
            floor_name = reader.text(floor, "name", floor_path, limit=16)
            level = reader.integer(floor, "level", floor_path)
            if not floor_name or level is None:
                continue
            if floor_name in names or level in levels:
                reader.problem(
                    floor_path,
                    "DUPLICATE_FLOOR",
                    f"building {code!r} has floor {floor_name!r} or level {level} twice",
                )
                continue
            names[floor_name], levels[level] = level, floor_name
            floors.append(DocFloor(floor_name, level))
        if code:
            floors_of[code] = names
            document.buildings.append(DocBuilding(code, name, sort_order, floors))


def _read_points(
    reader: _Reader,
    raw: dict[str, Any],
    document: MapDocument,
    floors_of: dict[str, dict[str, int]],
    known_room_ids: set[int],
    known_department_ids: set[int],
) -> set[str]:
    """Reads the points; returns every declared key, including those of points with problems."""
    keys: set[str] = set()
    markers: dict[str, str] = {}
    for path, item in reader.objects(raw, "points", ""):
        problems_before = len(reader.problems)
        key = reader.text(item, "key", path, limit=KEY_LENGTH)
        building = reader.text(item, "building", path, limit=16)
        floor = reader.text(item, "floor", path, limit=16)
        name = reader.text(item, "name", path, limit=NAME_LENGTH, required=False)
        x, y = reader.number(item, "x", path), reader.number(item, "y", path)
        room_id = reader.integer(item, "roomId", path, required=False)
        department_id = reader.integer(item, "departmentId", path, required=False)
        kind_name = item.get("kind")
        kind = PointKind.__members__.get(kind_name) if isinstance(kind_name, str) else None
        if kind is None:
            allowed = ", ".join(PointKind.__members__)
            reader.problem(f"{path}.kind", "INVALID_VALUE", f"kind must be one of {allowed}")
        if key:
            if key in keys:
                reader.problem(f"{path}.key", "DUPLICATE_POINT", f"point key {key!r} appears twice")
            keys.add(key)
        if building and building not in floors_of:
            reader.problem(
                f"{path}.building", "UNKNOWN_BUILDING", f"no building {building!r} in the document"
            )
        elif building and floor and floor not in floors_of[building]:
            reader.problem(f"{path}.floor", "UNKNOWN_FLOOR", f"building {building!r} has no floor {floor!r}")
        if room_id is not None and room_id not in known_room_ids:
            reader.problem(f"{path}.roomId", "UNKNOWN_ROOM", f"there is no room {room_id}")
        if department_id is not None and department_id not in known_department_ids:
            reader.problem(
                f"{path}.departmentId", "UNKNOWN_DEPARTMENT", f"there is no department {department_id}"
            )
        marker_id = item.get("markerId")
        if marker_id is not None:
            problem = marker_id_problem(marker_id) if isinstance(marker_id, str) else "must be a text"
            if problem:
                reader.problem(f"{path}.markerId", "INVALID_MARKER", problem)
            elif marker_id in markers:
                reader.problem(
                    f"{path}.markerId",
                    "DUPLICATE_MARKER",
                    f"QR marker {marker_id!r} is already placed at point {markers[marker_id]!r}",
                )
            else:
                markers[marker_id] = key
        if len(reader.problems) == problems_before and kind is not None and x is not None and y is not None:
            document.points.append(
                DocPoint(key, building, floor, kind, name, x, y, room_id, department_id, marker_id)
            )
    return keys


def _read_edges(reader: _Reader, raw: dict[str, Any], document: MapDocument, declared: set[str]) -> None:
    points = {p.key: p for p in document.points}
    for path, item in reader.objects(raw, "edges", ""):
        ends: list[DocPoint | None] = []
        for name in ("from", "to"):
            key = item.get(name)
            point = points.get(key) if isinstance(key, str) else None
            # A declared point with problems of its own is reported once, not again by its edges.
            if point is None and key not in declared:
                reader.problem(
                    f"{path}.{name}", "UNKNOWN_POINT", f"no point with key {key!r} in the document"
                )
            ends.append(point)
        flags = {
            name: reader.flag(item, name, path, default)
            for name, default in (
                ("stairs", False),
                ("lift", False),
                ("escalator", False),
                ("oneWay", False),
                ("stepFree", True),
                ("closed", False),
            )
        }
        length = reader.number(item, "lengthM", path, required=False)
        start, end = ends
        if start is None or end is None:
            continue
        if start.key == end.key:
            reader.problem(path, "SELF_LOOP", f"edge joins point {start.key!r} to itself")
            continue
        if sum((flags["stairs"], flags["lift"], flags["escalator"])) > 1:
            reader.problem(path, "CONFLICTING_FLAGS", "an edge is at most one of stairs, lift, escalator")
        if flags["lift"] and not (start.kind is PointKind.LIFT and end.kind is PointKind.LIFT):
            reader.problem(path, "INVALID_LIFT_EDGE", "a lift edge joins two LIFT points")
        same_floor = (start.building, start.floor) == (end.building, end.floor)
        if length is None:
            if not same_floor:
                reader.problem(
                    f"{path}.lengthM", "INVALID_LENGTH", "lengthM is required for an edge between floors"
                )
                continue
            length = round(math.hypot(end.x - start.x, end.y - start.y), 2)
        if length <= 0:
            reader.problem(f"{path}.lengthM", "INVALID_LENGTH", "lengthM must be more than 0")
            continue
        document.edges.append(
            DocEdge(
                start.key,
                end.key,
                length,
                flags["stairs"],
                flags["lift"],
                flags["escalator"],
                flags["oneWay"],
                flags["stepFree"],
                flags["closed"],
            )
        )


_ROOM_LIKE = frozenset({PointKind.ROOM})


def _check_connectivity(reader: _Reader, document: MapDocument) -> None:
    """Every point must be reachable from an entrance (closed edges count: closures are temporary)."""
    if not document.points:
        return
    index = {p.key: i for i, p in enumerate(document.points)}
    entrances = [index[p.key] for p in document.points if p.kind is PointKind.ENTRANCE]
    if not entrances:
        reader.problem("points", "NO_ENTRANCE", "the map needs at least one ENTRANCE point")
        return
    following: list[list[int]] = [[] for _ in document.points]
    for edge in document.edges:
        a, b = index[edge.start], index[edge.end]
        following[a].append(b)
        if not edge.one_way:
            following[b].append(a)
    reached = [False] * len(document.points)
    queue = deque(entrances)
    for i in entrances:
        reached[i] = True
    while queue:
        current = queue.popleft()
        for nxt in following[current]:
            if not reached[nxt]:
                reached[nxt] = True
                queue.append(nxt)
    for i, point in enumerate(document.points):
        if reached[i]:
            continue
        if point.kind in _ROOM_LIKE or point.room_id is not None:
            reader.problem(
                f"points[{i}]",
                "DISCONNECTED_ROOM",
                f"room point {point.key!r} cannot be reached from any entrance",
            )
        else:
            reader.problem(
                f"points[{i}]",
                "DISCONNECTED_POINT",
                f"point {point.key!r} cannot be reached from any entrance",
            )
