"""Demo indoor map of the demo hospital: 门诊楼 (MZ, 1F-4F) and 综合楼 (ZH, 1F-5F), with lifts, stairs,
an escalator, a covered walkway on 1F and a bridge with two steps on 2F (an accessible detour).

Rooms and departments are looked up by name and code at seed time; a missing one leaves its point
unlinked. Idempotent: when a map exists, it is left alone (an administrator's edits survive).
"""

from __future__ import annotations

import sys
from itertools import pairwise
from typing import Any

from models.catalogue import Department, Room
from models.navigation import Building
from resolvers.navigation.map_documents import import_map

# Corridor junctions per floor (x, y) and doors hanging off them, per building.
MZ_CORRIDOR = [(0.0, 10.0), (15.0, 10.0), (30.0, 10.0), (45.0, 10.0), (60.0, 10.0)]
ZH_CORRIDOR = [(0.0, 40.0), (10.0, 40.0), (20.0, 40.0), (30.0, 40.0), (40.0, 40.0)]

# (building, floor, room name, junction index, side): side +1 is north of the corridor, -1 south.
ROOM_DOORS: tuple[tuple[str, str, str, int, int], ...] = (
    ("MZ", "2F", "201诊室", 1, 1),
    ("MZ", "2F", "202诊室", 1, -1),
    ("MZ", "2F", "203诊室", 3, 1),
    ("MZ", "2F", "205诊室", 3, -1),
    ("MZ", "3F", "301诊室", 1, 1),
    ("MZ", "3F", "302诊室", 3, 1),
    ("MZ", "4F", "401诊室", 1, 1),
    ("MZ", "4F", "402诊室", 1, -1),
    ("MZ", "4F", "405诊室", 3, 1),
    ("MZ", "4F", "408诊室", 3, -1),
    ("ZH", "2F", "综合楼201", 1, 1),
    ("ZH", "3F", "综合楼301", 1, 1),
    ("ZH", "3F", "综合楼302", 3, 1),
    ("ZH", "5F", "综合楼501咨询室", 1, 1),
)

# Triage desks (分诊台) of departments: (building, floor, department code, junction index).
DEPARTMENT_DESKS: tuple[tuple[str, str, str, int], ...] = (
    ("MZ", "2F", "NK", 2),
    ("MZ", "3F", "WK", 2),
    ("ZH", "3F", "ZY", 2),
)

FLOORS = {"MZ": ["1F", "2F", "3F", "4F"], "ZH": ["1F", "2F", "3F", "4F", "5F"]}


def demo_map_document(rooms: dict[str, int], departments: dict[str, int]) -> dict[str, Any]:
    points: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []

    def point(
        key: str, building: str, floor: str, kind: str, name: str, x: float, y: float, **extra: Any
    ) -> str:
        points.append(
            {
                "key": key,
                "building": building,
                "floor": floor,
                "kind": kind,
                "name": name,
                "x": x,
                "y": y,
                **extra,
            }
        )
        return key

    def edge(start: str, end: str, **flags: Any) -> None:
        edges.append({"from": start, "to": end, **flags})

    corridors = {"MZ": MZ_CORRIDOR, "ZH": ZH_CORRIDOR}
    lift_x = {"MZ": 30.0, "ZH": 20.0}
    stairs_x = {"MZ": 0.0, "ZH": 40.0}
    names = {"MZ": "门诊楼", "ZH": "综合楼"}
    for building, floors in FLOORS.items():
        corridor = corridors[building]
        y = corridor[0][1]
        for floor in floors:
            junctions = [
                point(f"{building}-{floor}-J{i}", building, floor, "JUNCTION", "", x, jy)
                for i, (x, jy) in enumerate(corridor)
            ]
            for a, b in pairwise(junctions):
                edge(a, b)
            lift = point(
                f"{building}-{floor}-LIFT",
                building,
                floor,
                "LIFT",
                f"{names[building]}电梯厅",
                lift_x[building],
                y - 5,
                markerId=f"{building}-{floor}-LIFT",
            )
            edge(lift, junctions[corridor.index((lift_x[building], y))])
            stairs = point(
                f"{building}-{floor}-STAIRS", building, floor, "STAIRS", "楼梯", stairs_x[building], y - 5
            )
            edge(stairs, junctions[corridor.index((stairs_x[building], y))])
            toilet = point(
                f"{building}-{floor}-WC", building, floor, "TOILET", "卫生间", corridor[-1][0], y + 4
            )
            edge(toilet, junctions[-1])
        for lower, upper in pairwise(floors):
            edge(f"{building}-{lower}-LIFT", f"{building}-{upper}-LIFT", lengthM=4, lift=True)
            edge(
                f"{building}-{lower}-STAIRS",
                f"{building}-{upper}-STAIRS",
                lengthM=12,
                stairs=True,
                stepFree=False,
            )

    # Ground floor of 门诊楼: the main entrance, the information desk, the pharmacy, an escalator.
    entrance = point(
        "MZ-1F-ENTRANCE", "MZ", "1F", "ENTRANCE", "门诊楼正门", -10, 10, markerId="MZ-1F-ENTRANCE"
    )
    edge(entrance, "MZ-1F-J0")
    edge(point("MZ-1F-DESK", "MZ", "1F", "DESK", "导诊台", 15, 14), "MZ-1F-J1")
    edge(
        point("MZ-1F-PHARMACY", "MZ", "1F", "PHARMACY", "药房", 45, 14, markerId="MZ-1F-PHARMACY"), "MZ-1F-J3"
    )
    edge(point("MZ-1F-ESC", "MZ", "1F", "ESCALATOR", "扶梯", 52, 5), "MZ-1F-J3")
    edge(point("MZ-2F-ESC", "MZ", "2F", "ESCALATOR", "扶梯", 52, 5), "MZ-2F-J3")
    edge("MZ-1F-ESC", "MZ-2F-ESC", lengthM=10, escalator=True, stepFree=False)
    zh_entrance = point(
        "ZH-1F-ENTRANCE", "ZH", "1F", "ENTRANCE", "综合楼入口", 20, 50, markerId="ZH-1F-ENTRANCE"
    )
    edge(zh_entrance, "ZH-1F-J2")
    # Between the buildings: a level covered walkway on 1F, a bridge with two steps on 2F.
    edge("MZ-1F-J4", "ZH-1F-J0", lengthM=30)
    edge("MZ-2F-J4", "ZH-2F-J0", lengthM=25, stepFree=False)

    for building, floor, room_name, junction, side in ROOM_DOORS:
        x, y = corridors[building][junction]
        marker = f"{building}-{floor}-{room_name.removeprefix('综合楼')[:3]}"
        key = point(
            f"{building}-{floor}-ROOM-{room_name}",
            building,
            floor,
            "ROOM",
            room_name,
            x,
            y + 3 * side,
            roomId=rooms.get(room_name),
            markerId=marker,
        )
        edge(key, f"{building}-{floor}-J{junction}")
    for building, floor, code, junction in DEPARTMENT_DESKS:
        x, y = corridors[building][junction]
        key = point(
            f"{building}-{floor}-DESK-{code}",
            building,
            floor,
            "DESK",
            "分诊台",
            x,
            y + 4,
            departmentId=departments.get(code),
        )
        edge(key, f"{building}-{floor}-J{junction}")

    return {
        "format": "gualema-map/1",
        "buildings": [
            {
                "code": code,
                "name": names[code],
                "sortOrder": order,
                "floors": [{"name": f, "level": int(f.removesuffix("F"))} for f in floors],
            }
            for order, (code, floors) in enumerate(FLOORS.items())
        ],
        "points": points,
        "edges": edges,
    }


async def seed_demo_map() -> None:
    if await Building.exists():
        return
    room_names = {name for _, _, name, _, _ in ROOM_DOORS}
    rooms = {name: int(i) for i, name in await Room.filter(name__in=room_names).values_list("id", "name")}
    codes = {code for _, _, code, _ in DEPARTMENT_DESKS}
    departments = {
        code: int(i) for i, code in await Department.filter(code__in=codes).values_list("id", "code")
    }
    summary = await import_map(demo_map_document(rooms, departments), None)
    missing = sorted(room_names - rooms.keys())
    note = f"; rooms not in the catalogue, left unlinked: {', '.join(missing)}" if missing else ""
    print(
        f"demo map: {summary.buildings} buildings, {summary.floors} floors, {summary.points} points, "
        f"{summary.edges} edges{note}",
        file=sys.stderr,
    )
