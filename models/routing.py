"""Shortest routes over the in-memory map graph and their step-by-step instructions. Pure: no I/O.

Dijkstra (not A*): floors and buildings have their own coordinate frames, so a straight-line
heuristic across them would not be admissible (docs/decisions/084-dijkstra-and-instructions.md).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from models.errors import DomainError
from models.navigation import PointKind


@dataclass(frozen=True, slots=True)
class GraphPoint:
    id: int
    key: str
    name: str
    kind: PointKind
    floor_id: int
    floor_name: str
    level: int
    building_id: int
    building_name: str
    x: float
    y: float
    room_id: int | None = None
    department_id: int | None = None
    marker_id: str | None = None


@dataclass(frozen=True, slots=True)
class GraphEdge:
    id: int
    start: int
    end: int
    length_m: float
    stairs: bool = False
    lift: bool = False
    escalator: bool = False
    one_way: bool = False
    step_free: bool = True
    closed: bool = False

    @property
    def accessible(self) -> bool:
        # Stairs and escalators are never step-free, whatever the flag says.
        return self.step_free and not self.stairs and not self.escalator


# An arc of the adjacency list: (neighbour, length, floors crossed, closed, accessible, edge).
Arc = tuple[int, float, int, bool, bool, GraphEdge]
# What the search walks: (neighbour's dense index, weight, edge); one list per point's dense index.
WeightedArcs = list[list[tuple[int, float, GraphEdge]]]


class MapGraph:
    """Built once per map version and shared by every request of the process: read-only after build
    (the weighted views are memoised, and building one twice concurrently is harmless)."""

    def __init__(
        self, points: Iterable[GraphPoint], edges: Iterable[GraphEdge], version: tuple[str, int] | None = None
    ) -> None:
        self.version = version
        self.points: dict[int, GraphPoint] = {p.id: p for p in points}
        self.arcs: dict[int, list[Arc]] = {point_id: [] for point_id in self.points}
        self.points_by_room: dict[int, list[int]] = {}
        self.points_by_department: dict[int, list[int]] = {}
        self.point_by_marker: dict[str, int] = {}
        # Dense indexes make the search's tables plain lists instead of dicts.
        self.ids: list[int] = list(self.points)
        self.index: dict[int, int] = {point_id: i for i, point_id in enumerate(self.ids)}
        self._weighted: dict[tuple[float, bool, bool], WeightedArcs] = {}
        for point in self.points.values():
            if point.room_id is not None:
                self.points_by_room.setdefault(point.room_id, []).append(point.id)
            if point.department_id is not None:
                self.points_by_department.setdefault(point.department_id, []).append(point.id)
            if point.marker_id is not None:
                self.point_by_marker[point.marker_id] = point.id
        for edge in edges:
            start, end = self.points[edge.start], self.points[edge.end]
            floors = abs(start.level - end.level) if start.floor_id != end.floor_id else 0
            self.arcs[edge.start].append(
                (edge.end, edge.length_m, floors, edge.closed, edge.accessible, edge)
            )
            if not edge.one_way:
                self.arcs[edge.end].append(
                    (edge.start, edge.length_m, floors, edge.closed, edge.accessible, edge)
                )

    def __len__(self) -> int:
        return len(self.points)

    def weighted(self, floor_cost: float, accessible: bool, avoid_closed: bool) -> WeightedArcs:
        """The arcs a search may take, with their weights, filtered once per kind of search."""
        key = (floor_cost, accessible, avoid_closed)
        view = self._weighted.get(key)
        if view is None:
            index = self.index
            view = [
                [
                    (index[neighbour], length + floor_cost * floors, edge)
                    for neighbour, length, floors, closed, step_free, edge in self.arcs[point_id]
                    if not (avoid_closed and closed) and not (accessible and not step_free)
                ]
                for point_id in self.ids
            ]
            self._weighted[key] = view
        return view


@dataclass(frozen=True)
class RouteOptions:
    accessible: bool = False
    floor_change_cost_m: float = 20.0  # added to the weight per floor crossed (lift waits, climbing)
    walking_speed_mps: float = 1.0  # a patient's pace, slower than the usual 1.4 m/s
    floor_change_seconds: float = 30.0  # added to the walking time per floor crossed
    side_distance_m: float = 6.0  # a last leg this short, off to one side, is "on your left/right"


class NoRouteReason(StrEnum):
    START_NOT_ON_MAP = "start_not_on_map"
    TARGET_NOT_ON_MAP = "target_not_on_map"
    DISCONNECTED = "disconnected"  # no path at all, even through closed edges
    CLOSED = "closed"  # every path passes a temporarily closed edge
    NOT_STEP_FREE = "not_step_free"  # every open path has stairs, an escalator or a step


_NO_ROUTE_MESSAGES: dict[NoRouteReason, str] = {
    NoRouteReason.START_NOT_ON_MAP: "this QR marker is not placed on the map; ask at the service desk",
    NoRouteReason.TARGET_NOT_ON_MAP: "the destination is not on the map yet; ask at the service desk",
    NoRouteReason.DISCONNECTED: "the destination cannot be reached from here on the map",
    NoRouteReason.CLOSED: "the way to the destination is temporarily closed; ask at the service desk",
    NoRouteReason.NOT_STEP_FREE: "there is no step-free way to the destination; ask staff for help",
}


class NoRoute(DomainError):
    default_message = "no route to the destination"

    def __init__(self, reason: NoRouteReason, message: str | None = None) -> None:
        super().__init__(message or _NO_ROUTE_MESSAGES[reason], reason=reason)


class StepAction(StrEnum):
    STRAIGHT = "straight"
    BEAR_LEFT = "bear_left"
    BEAR_RIGHT = "bear_right"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    TURN_AROUND = "turn_around"
    LIFT = "lift"
    STAIRS = "stairs"
    ESCALATOR = "escalator"
    CHANGE_FLOOR = "change_floor"
    CHANGE_BUILDING = "change_building"
    ARRIVE = "arrive"


@dataclass(frozen=True)
class RouteStep:
    action: StepAction
    instruction_zh: str
    instruction_en: str
    distance_m: float
    floor_name: str
    from_index: int  # indexes into Route.points, so a client can highlight the leg
    to_index: int


@dataclass(frozen=True)
class Route:
    points: list[GraphPoint]
    steps: list[RouteStep]
    distance_m: float
    walking_seconds: int
    floors_crossed: int
    accessible: bool

    @property
    def destination(self) -> GraphPoint:
        return self.points[-1]


def _search(
    graph: MapGraph,
    start: int,
    targets: set[int],
    floor_cost: float,
    *,
    accessible: bool,
    avoid_closed: bool,
) -> list[tuple[int, GraphEdge | None]] | None:
    """Dijkstra from `start` until the first target is settled; the path as (point, edge in)."""
    arcs = graph.weighted(floor_cost, accessible, avoid_closed)
    index = graph.index
    goal = {index[t] for t in targets}
    origin = index[start]
    best = [math.inf] * len(arcs)
    came_from: list[tuple[int, GraphEdge] | None] = [None] * len(arcs)
    best[origin] = 0.0
    heap: list[tuple[float, int]] = [(0.0, origin)]
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        cost, here = pop(heap)
        if cost > best[here]:
            continue  # a stale entry: this point was reached more cheaply since
        if here in goal:
            return _unwind(graph, came_from, origin, here)
        for neighbour, weight, edge in arcs[here]:
            candidate = cost + weight
            if candidate < best[neighbour]:
                best[neighbour] = candidate
                came_from[neighbour] = (here, edge)
                push(heap, (candidate, neighbour))
    return None


def _unwind(
    graph: MapGraph, came_from: list[tuple[int, GraphEdge] | None], origin: int, end: int
) -> list[tuple[int, GraphEdge | None]]:
    path: list[tuple[int, GraphEdge | None]] = []
    here = end
    while here != origin:
        step = came_from[here]
        assert step is not None
        previous, edge = step
        path.append((graph.ids[here], edge))
        here = previous
    path.append((graph.ids[origin], None))
    path.reverse()
    return path


def find_route(graph: MapGraph, start: int, targets: Iterable[int], options: RouteOptions) -> Route:
    """The cheapest route from point `start` to the nearest of `targets`; NoRoute with the reason."""
    target_set = {t for t in targets if t in graph.points}
    if start not in graph.points:
        raise NoRoute(NoRouteReason.START_NOT_ON_MAP)
    if not target_set:
        raise NoRoute(NoRouteReason.TARGET_NOT_ON_MAP)
    cost = options.floor_change_cost_m
    path = _search(graph, start, target_set, cost, accessible=options.accessible, avoid_closed=True)
    if path is None:
        raise NoRoute(_why_no_route(graph, start, target_set, options))
    return describe(graph, path, options)


def _why_no_route(graph: MapGraph, start: int, targets: set[int], options: RouteOptions) -> NoRouteReason:
    # Only on failure: search again with fewer constraints to name the one that blocked.
    cost = options.floor_change_cost_m
    if options.accessible and _search(graph, start, targets, cost, accessible=False, avoid_closed=True):
        return NoRouteReason.NOT_STEP_FREE
    if _search(graph, start, targets, cost, accessible=options.accessible, avoid_closed=False):
        return NoRouteReason.CLOSED
    if options.accessible and _search(graph, start, targets, cost, accessible=False, avoid_closed=False):
        return NoRouteReason.CLOSED
    return NoRouteReason.DISCONNECTED


# -- instructions ------------------------------------------------------------------------------

STRAIGHT_DEGREES = 30.0  # smaller changes of heading are "straight on"
TURN_DEGREES = 60.0  # from here a bend is a turn rather than "bear left"
AROUND_DEGREES = 150.0

_TURNS: dict[StepAction, tuple[str, str]] = {
    StepAction.BEAR_LEFT: ("向左前方走", "bear left"),
    StepAction.BEAR_RIGHT: ("向右前方走", "bear right"),
    StepAction.TURN_LEFT: ("左转", "turn left"),
    StepAction.TURN_RIGHT: ("右转", "turn right"),
    StepAction.TURN_AROUND: ("掉头", "turn around"),
}

_VERTICAL: dict[StepAction, tuple[str, str]] = {
    StepAction.LIFT: ("乘电梯到 {floor}", "take the lift to {floor}"),
    StepAction.STAIRS: ("走楼梯到 {floor}", "take the stairs to {floor}"),
    StepAction.ESCALATOR: ("乘扶梯到 {floor}", "take the escalator to {floor}"),
    StepAction.CHANGE_FLOOR: ("前往 {floor}", "go to {floor}"),
}

_NOUNS: dict[PointKind, tuple[str, str]] = {
    PointKind.ROOM: ("诊室", "the room"),
    PointKind.DESK: ("服务台", "the desk"),
    PointKind.PHARMACY: ("药房", "the pharmacy"),
    PointKind.TOILET: ("卫生间", "the toilet"),
    PointKind.ENTRANCE: ("出入口", "the entrance"),
    PointKind.LIFT: ("电梯", "the lift"),
    PointKind.STAIRS: ("楼梯", "the stairs"),
    PointKind.ESCALATOR: ("扶梯", "the escalator"),
}


def _heading(a: GraphPoint, b: GraphPoint) -> float | None:
    dx, dy = b.x - a.x, b.y - a.y
    if math.hypot(dx, dy) < 0.01:
        return None
    return math.degrees(math.atan2(dy, dx))


def _turn(previous: float, current: float) -> float:
    """Signed change of heading in (-180, 180]: positive is counter-clockwise, i.e. to the left."""
    delta = (current - previous) % 360.0
    return delta - 360.0 if delta > 180.0 else delta


def turn_action(degrees: float) -> StepAction:
    size = abs(degrees)
    if size < STRAIGHT_DEGREES:
        return StepAction.STRAIGHT
    if size >= AROUND_DEGREES:
        return StepAction.TURN_AROUND
    if size < TURN_DEGREES:
        return StepAction.BEAR_LEFT if degrees > 0 else StepAction.BEAR_RIGHT
    return StepAction.TURN_LEFT if degrees > 0 else StepAction.TURN_RIGHT


def _vertical_action(edge: GraphEdge, a: GraphPoint, b: GraphPoint) -> StepAction | None:
    if edge.lift:
        return StepAction.LIFT
    if edge.escalator:
        return StepAction.ESCALATOR
    if edge.stairs:
        return StepAction.STAIRS
    if a.floor_id != b.floor_id and a.level != b.level:
        return StepAction.CHANGE_FLOOR
    return None


def _metres(distance: float) -> int:
    return max(1, round(distance))


class _StepWriter:
    def __init__(self, points: list[GraphPoint]) -> None:
        self.points = points
        self.steps: list[RouteStep] = []
        self.run_start = 0  # index where the current straight run began
        self.run_length = 0.0

    def flush_straight(self, end_index: int) -> None:
        if self.run_length > 0 and end_index > self.run_start:
            metres = _metres(self.run_length)
            self.add(
                StepAction.STRAIGHT,
                f"直行 {metres} 米",
                f"go straight {metres} m",
                self.run_length,
                self.run_start,
                end_index,
            )
        self.run_start, self.run_length = end_index, 0.0

    def add(self, action: StepAction, zh: str, en: str, distance: float, start: int, end: int) -> None:
        floor = self.points[end].floor_name
        self.steps.append(RouteStep(action, zh, en, round(distance, 1), floor, start, end))


def describe(graph: MapGraph, path: list[tuple[int, GraphEdge | None]], options: RouteOptions) -> Route:
    """Turn a path into steps: straight runs, turns from headings, floor changes and the arrival."""
    points = [graph.points[point_id] for point_id, _ in path]
    edges = [edge for _, edge in path[1:] if edge is not None]
    writer = _StepWriter(points)
    heading: float | None = None
    final_side: StepAction | None = None
    side_leg = 0.0
    floors_crossed = 0
    index = 1
    last = len(points) - 1
    while index <= last:
        edge, a, b = edges[index - 1], points[index - 1], points[index]
        vertical = _vertical_action(edge, a, b)
        if vertical is not None:
            writer.flush_straight(index - 1)
            begin = index - 1
            # Several lift (or stair) edges in a row are one ride: announce only the last floor.
            while (
                index < last and _vertical_action(edges[index], points[index], points[index + 1]) is vertical
            ):
                index += 1
            floors_crossed += abs(points[index].level - points[begin].level)
            distance = sum(e.length_m for e in edges[begin:index])
            zh, en = _VERTICAL[vertical]
            floor = points[index].floor_name
            writer.add(vertical, zh.format(floor=floor), en.format(floor=floor), distance, begin, index)
            writer.run_start, writer.run_length = index, 0.0
            heading = None  # nobody knows which way they face leaving a lift
            index += 1
            continue
        if a.building_id != b.building_id or a.floor_id != b.floor_id:
            # A walkway into another building: its plan has its own frame, so no turn is computed.
            writer.flush_straight(index - 1)
            metres = _metres(edge.length_m)
            writer.add(
                StepAction.CHANGE_BUILDING,
                f"步行 {metres} 米到{b.building_name}",
                f"walk {metres} m to {b.building_name}",
                edge.length_m,
                index - 1,
                index,
            )
            writer.run_start, writer.run_length = index, 0.0
            heading = None
            index += 1
            continue
        current = _heading(a, b)
        if current is not None and heading is not None:
            action = turn_action(_turn(heading, current))
            is_last_leg = index == last
            if action is not StepAction.STRAIGHT and is_last_leg and edge.length_m <= options.side_distance_m:
                # A door just off the corridor: say which side it is on instead of "turn".
                writer.flush_straight(index - 1)
                final_side, side_leg = action, edge.length_m
                index += 1
                continue
            if action is not StepAction.STRAIGHT:
                writer.flush_straight(index - 1)
                zh, en = _TURNS[action]
                writer.add(action, zh, en, 0.0, index - 1, index - 1)
        if current is not None:
            heading = current
        writer.run_length += edge.length_m
        index += 1
    writer.flush_straight(last)
    _arrive(writer, points[-1], final_side, side_leg, len(points) > 1)
    distance = sum(e.length_m for e in edges)
    seconds = distance / options.walking_speed_mps + floors_crossed * options.floor_change_seconds
    return Route(
        points=points,
        steps=writer.steps,
        distance_m=round(distance, 1),
        walking_seconds=round(seconds),
        floors_crossed=floors_crossed,
        accessible=options.accessible,
    )


def _arrive(
    writer: _StepWriter, destination: GraphPoint, side: StepAction | None, side_leg: float, moved: bool
) -> None:
    noun_zh, noun_en = _NOUNS.get(destination.kind, ("目的地", "your destination"))
    if side in {StepAction.BEAR_LEFT, StepAction.TURN_LEFT}:
        zh, en = f"{noun_zh}在您左手边", f"{noun_en} is on your left"
    elif side in {StepAction.BEAR_RIGHT, StepAction.TURN_RIGHT}:
        zh, en = f"{noun_zh}在您右手边", f"{noun_en} is on your right"
    elif side is StepAction.TURN_AROUND:
        zh, en = f"{noun_zh}在您身后", f"{noun_en} is behind you"
    elif moved:
        zh, en = f"{noun_zh}在您正前方", f"{noun_en} is straight ahead"
    else:
        zh, en = f"您已在{noun_zh}", f"you are at {noun_en}"
    last = len(writer.points) - 1
    start = max(0, last - 1) if side is not None else last
    writer.add(StepAction.ARRIVE, zh, en, side_leg, start, last)
