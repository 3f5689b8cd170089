"""The demo hospital's map: seeded once, linked to the catalogue by names, routable."""

from __future__ import annotations

from gualema.demo_map import seed_demo_map
from models.navigation import Building, Floor, MapEdge, MapPoint, PointKind
from models.routing import RouteOptions, find_route
from resolvers.navigation.map_documents import export_map
from resolvers.navigation.map_graph import load_graph
from tests import factories


async def test_the_demo_map_links_the_rooms_it_finds_and_seeding_twice_changes_nothing() -> None:
    internal = await factories.department(name="内科", code="NK")
    room_201 = await factories.room(internal, name="201诊室")
    room_501 = await factories.room(internal, name="综合楼501咨询室")
    # The other rooms of the demo catalogue are missing here: their points stay unlinked.

    await seed_demo_map()
    first = await export_map()
    await seed_demo_map()

    assert await export_map() == first
    assert await Building.all().count() == 2
    assert await Floor.all().count() == 9
    assert await MapPoint.all().count() >= 30
    assert await MapEdge.filter(lift=True).exists()
    assert await MapEdge.filter(stairs=True).exists()
    rooms = {p.name: p.room_id for p in await MapPoint.filter(kind=PointKind.ROOM)}
    assert rooms["201诊室"] == room_201.id
    assert rooms["综合楼501咨询室"] == room_501.id
    assert rooms["202诊室"] is None
    assert (await MapPoint.get(key="MZ-2F-DESK-NK")).department_id == internal.id

    graph = await load_graph()
    start = graph.point_by_marker["MZ-1F-ENTRANCE"]
    walking = find_route(graph, start, graph.points_by_room[room_501.id], RouteOptions())
    wheelchair = find_route(graph, start, graph.points_by_room[room_501.id], RouteOptions(accessible=True))
    assert walking.destination.name == wheelchair.destination.name == "综合楼501咨询室"
    assert wheelchair.steps[-1].instruction_zh == "诊室在您右手边"  # walking west, the door is north
    assert all(not s.instruction_zh.startswith("走楼梯") for s in wheelchair.steps)
    assert any(s.instruction_zh == "乘电梯到 5F" for s in wheelchair.steps)
    assert [s.instruction_zh for s in wheelchair.steps][:2] == ["直行 70 米", "步行 30 米到综合楼"]
