"""Routing on hand-checked maps (pure: no database)."""

from __future__ import annotations

import pytest

from models.navigation import PointKind
from models.navigation_map_document import DocPoint, parse_map_document
from models.routing import NoRoute, NoRouteReason, RouteOptions, StepAction, find_route, turn_action
from tests.navigation.maps import clinic_document, clinic_graph, graph_of, key_of

WALK = RouteOptions()
WHEELCHAIR = RouteOptions(accessible=True)


def steps(route: object) -> list[tuple[str, str, str]]:
    return [(s.action.value, s.instruction_zh, s.instruction_en) for s in route.steps]  # type: ignore[attr-defined]


def test_the_shortest_way_to_the_room_takes_the_stairs_with_turns_and_the_side_of_the_door() -> None:
    graph = clinic_graph()
    route = find_route(graph, key_of(graph, "E"), graph.points_by_room[201], WALK)

    assert [p.key for p in route.points] == ["E", "J1", "S1", "S2", "K1", "D", "R"]
    assert route.distance_m == 61.0
    assert route.floors_crossed == 1
    assert route.walking_seconds == 61 + 30  # 1 m/s and 30 s per floor
    assert steps(route) == [
        ("straight", "直行 20 米", "go straight 20 m"),
        ("turn_left", "左转", "turn left"),
        ("straight", "直行 10 米", "go straight 10 m"),
        ("stairs", "走楼梯到 2F", "take the stairs to 2F"),
        ("straight", "直行 10 米", "go straight 10 m"),
        ("turn_right", "右转", "turn right"),
        ("straight", "直行 10 米", "go straight 10 m"),
        ("arrive", "诊室在您左手边", "the room is on your left"),
    ]
    assert [(s.from_index, s.to_index) for s in route.steps] == [
        (0, 1),
        (1, 1),
        (1, 2),
        (2, 3),
        (3, 4),
        (4, 4),
        (4, 5),
        (5, 6),
    ]


def test_an_accessible_route_detours_by_the_lift_and_sees_the_door_on_the_other_side() -> None:
    graph = clinic_graph()
    route = find_route(graph, key_of(graph, "E"), graph.points_by_room[201], WHEELCHAIR)

    assert [p.key for p in route.points] == ["E", "J1", "J2", "L1", "L2", "K2", "D", "R"]
    assert route.distance_m == 77.0
    assert route.accessible is True
    assert steps(route) == [
        ("straight", "直行 40 米", "go straight 40 m"),
        ("turn_left", "左转", "turn left"),
        ("straight", "直行 10 米", "go straight 10 m"),
        ("lift", "乘电梯到 2F", "take the lift to 2F"),
        ("straight", "直行 10 米", "go straight 10 m"),
        ("turn_left", "左转", "turn left"),
        ("straight", "直行 10 米", "go straight 10 m"),
        ("arrive", "诊室在您右手边", "the room is on your right"),
    ]


def test_a_high_floor_change_cost_does_not_change_a_route_that_must_change_floors_either_way() -> None:
    graph = clinic_graph()
    route = find_route(
        graph, key_of(graph, "E"), graph.points_by_room[201], RouteOptions(floor_change_cost_m=500)
    )
    assert route.distance_m == 61.0


def test_a_closed_staircase_sends_walkers_by_the_lift() -> None:
    graph = clinic_graph({("S1", "S2"): {"closed": True}})
    route = find_route(graph, key_of(graph, "E"), graph.points_by_room[201], WALK)
    assert [p.key for p in route.points] == ["E", "J1", "J2", "L1", "L2", "K2", "D", "R"]


def test_when_every_way_is_closed_the_answer_is_no_route_because_closed() -> None:
    graph = clinic_graph({("S1", "S2"): {"closed": True}, ("L1", "L2"): {"closed": True}})
    with pytest.raises(NoRoute) as caught:
        find_route(graph, key_of(graph, "E"), graph.points_by_room[201], WALK)
    assert caught.value.reason is NoRouteReason.CLOSED
    assert caught.value.message == "the way to the destination is temporarily closed; ask at the service desk"


def test_a_closed_lift_leaves_a_wheelchair_user_without_a_step_free_route() -> None:
    graph = clinic_graph({("L1", "L2"): {"closed": True}})
    with pytest.raises(NoRoute) as caught:
        find_route(graph, key_of(graph, "E"), graph.points_by_room[201], WHEELCHAIR)
    assert caught.value.reason is NoRouteReason.NOT_STEP_FREE


def test_a_step_on_the_corridor_is_avoided_only_when_accessible() -> None:
    graph = clinic_graph({("K2", "D"): {"stepFree": False}})
    with pytest.raises(NoRoute) as caught:
        find_route(graph, key_of(graph, "E"), graph.points_by_room[201], WHEELCHAIR)
    assert caught.value.reason is NoRouteReason.NOT_STEP_FREE
    assert find_route(graph, key_of(graph, "E"), graph.points_by_room[201], WALK).distance_m == 61.0


def test_a_one_way_corridor_is_walked_only_in_its_direction() -> None:
    # D→K1 one way: from the room, the stairs side can no longer be reached through K1.
    graph = clinic_graph({("K1", "D"): {"oneWay": True}})
    to_room = find_route(graph, key_of(graph, "E"), graph.points_by_room[201], WALK)
    assert [p.key for p in to_room.points][:4] == ["E", "J1", "S1", "S2"]  # K1→D is its direction
    back = find_route(graph, key_of(graph, "R"), [key_of(graph, "E")], WALK)
    assert [p.key for p in back.points] == ["R", "D", "K2", "L2", "L1", "J2", "J1", "E"]


def test_an_island_and_a_room_missing_from_the_map_are_typed_no_routes() -> None:
    document = parse_map_document(clinic_document(room_id=201), {201}, set())
    # An import refuses islands; the graph may still hold one between edits by the CRUD mutations.
    document.points.append(DocPoint("T", "A", "2F", PointKind.ROOM, "孤岛", 0, 50, 202, None, None))
    graph = graph_of(document)

    with pytest.raises(NoRoute) as island:
        find_route(graph, key_of(graph, "E"), graph.points_by_room[202], WALK)
    assert island.value.reason is NoRouteReason.DISCONNECTED

    with pytest.raises(NoRoute) as missing:
        find_route(graph, key_of(graph, "E"), graph.points_by_room.get(203, []), WALK)
    assert missing.value.reason is NoRouteReason.TARGET_NOT_ON_MAP

    with pytest.raises(NoRoute) as nowhere:
        find_route(graph, 999, graph.points_by_room[201], WALK)
    assert nowhere.value.reason is NoRouteReason.START_NOT_ON_MAP


def test_the_nearest_of_several_targets_wins() -> None:
    graph = clinic_graph()
    route = find_route(graph, key_of(graph, "E"), [key_of(graph, "R"), key_of(graph, "J2")], WALK)
    assert [p.key for p in route.points] == ["E", "J1", "J2"]
    assert steps(route) == [
        ("straight", "直行 40 米", "go straight 40 m"),
        ("arrive", "目的地在您正前方", "your destination is straight ahead"),
    ]


def test_standing_at_the_destination_is_a_route_of_one_point() -> None:
    graph = clinic_graph()
    route = find_route(graph, key_of(graph, "R"), graph.points_by_room[201], WALK)
    assert route.distance_m == 0
    assert steps(route) == [("arrive", "您已在诊室", "you are at the room")]


def test_turn_words_follow_the_angle_of_the_heading_change() -> None:
    assert turn_action(10) is StepAction.STRAIGHT
    assert turn_action(45) is StepAction.BEAR_LEFT
    assert turn_action(-45) is StepAction.BEAR_RIGHT
    assert turn_action(90) is StepAction.TURN_LEFT
    assert turn_action(-120) is StepAction.TURN_RIGHT
    assert turn_action(170) is StepAction.TURN_AROUND
