"""Route latency on a generated 5,000-point map.

    .venv/bin/python bench/route.py                      # 5,000 points, 300 routes, SQLite
    .venv/bin/python bench/route.py --points 20000 --routes 500
    .venv/bin/python bench/route.py --database-url postgres://postgres@127.0.0.1:5432

The map: B buildings of F floors, each floor a grid of corridors 5 m apart with a lift and a stairwell,
walkways between the buildings on 1F, about a fifth of the points rooms, a few closed and one-way
edges. Printed, for random (marker, room) pairs, walking and accessible:
- the pure search and instructions (models.routing.find_route) p50/p99;
- the whole GraphQL request `route(from:, to:)` through the ASGI app in this process (signature check,
  map version query, room lookup, search, serialisation) p50/p99, with the graph cached;
- the graph's build time from the database (a cache miss after an edit) and its memory.
The machine is shared with other work: quote figures as provisional.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from gualema.app import create_app
from gualema.database import close_database, migrate, open_database
from gualema.settings import get_settings
from models.catalogue import Department, Room
from models.navigation_markers import sign_marker
from models.routing import NoRoute, find_route
from realtime.broker import create_broker, set_broker
from resolvers.navigation import map_documents, map_graph, routing
from tests.fixtures import database as test_database

ROUTE = """query($from: String!, $to: RouteTarget!, $accessible: Boolean!) {
  route(from: $from, to: $to, accessible: $accessible) {
    __typename ... on Route { distanceM walkingSeconds steps { instructionZh instructionEn distanceM }
    points { x y floorName } } ... on NoRouteError { reason } } }"""


def generated_map(points: int, room_ids: list[int], seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    buildings, floors = 4, 5
    per_floor = max(20, points // (buildings * floors))
    columns = 25
    rows = max(2, per_floor // columns)
    document_points: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    room_cycle = iter(room_ids * (points // max(1, len(room_ids)) + 1))
    for b in range(buildings):
        code = f"B{b}"
        for f in range(1, floors + 1):
            for r in range(rows):
                for c in range(columns):
                    key = f"{code}-{f}-{r}-{c}"
                    is_room = r % 3 == 1 and c % 2 == 1
                    point: dict[str, Any] = {
                        "key": key,
                        "building": code,
                        "floor": f"{f}F",
                        "x": c * 5.0,
                        "y": r * 5.0,
                        "kind": "ROOM" if is_room else "JUNCTION",
                    }
                    if is_room:
                        point["roomId"] = next(room_cycle)
                    if (r, c) == (0, 0) and f == 1:
                        point["kind"] = "ENTRANCE"
                    if r % 4 == 0 and c % 6 == 0:
                        point["markerId"] = f"{code}-{f}-{r}-{c}"
                    document_points.append(point)
                    if c > 0:
                        edges.append(
                            {"from": f"{code}-{f}-{r}-{c - 1}", "to": key, "closed": rng.random() < 0.01}
                        )
                    if r > 0:
                        edges.append(
                            {"from": f"{code}-{f}-{r - 1}-{c}", "to": key, "oneWay": rng.random() < 0.02}
                        )
            lift = {
                "key": f"{code}-{f}-LIFT",
                "building": code,
                "floor": f"{f}F",
                "kind": "LIFT",
                "x": 60.0,
                "y": -3.0,
            }
            stairs = {
                "key": f"{code}-{f}-ST",
                "building": code,
                "floor": f"{f}F",
                "kind": "STAIRS",
                "x": 0.0,
                "y": -3.0,
            }
            document_points += [lift, stairs]
            edges += [
                {"from": lift["key"], "to": f"{code}-{f}-0-12"},
                {"from": stairs["key"], "to": f"{code}-{f}-0-0"},
            ]
            if f > 1:
                edges.append({"from": f"{code}-{f - 1}-LIFT", "to": lift["key"], "lengthM": 4, "lift": True})
                edges.append(
                    {
                        "from": f"{code}-{f - 1}-ST",
                        "to": stairs["key"],
                        "lengthM": 12,
                        "stairs": True,
                        "stepFree": False,
                    }
                )
        if b > 0:
            edges.append({"from": f"B{b - 1}-1-0-{columns - 1}", "to": f"{code}-1-0-0", "lengthM": 40})
    return {
        "format": "gualema-map/1",
        "buildings": [
            {
                "code": f"B{b}",
                "name": f"{b + 1}号楼",
                "floors": [{"name": f"{f}F", "level": f} for f in range(1, floors + 1)],
            }
            for b in range(buildings)
        ],
        "points": document_points,
        "edges": edges,
    }


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1000:7.2f} ms   p99 {p99 * 1000:7.2f} ms   max {ordered[-1] * 1000:7.2f} ms"


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="gualema-bench-route-"))
    if args.database_url:
        database_url = f"{args.database_url.rstrip('/')}/gualema_bench_route_{secrets.token_hex(3)}"
    else:
        database_url = f"sqlite://{tmp / 'bench.sqlite3'}"
    os.environ.update(
        {
            "GUALEMA_DATABASE_URL": database_url,
            "GUALEMA_ENV": "test",
            "GUALEMA_RUN_WORKERS": "false",
            "GUALEMA_SECRET_KEY": "bench-secret-0123456789",
        }
    )

    settings = get_settings()
    if args.database_url:
        test_database.DATABASE_URL = database_url
        test_database.BASE_DATABASE_URL = f"{args.database_url.rstrip('/')}/postgres"
        await test_database._create_database()
    await migrate(settings)
    await open_database(settings)
    broker = create_broker(None, "bench")
    await broker.start()
    set_broker(broker)
    if not args.rooms:
        args.rooms = sum(1 for p in generated_map(args.points, [0])["points"] if p["kind"] == "ROOM")
    try:
        department = await Department.create(name="内科", code="NK")
        # One room per room point by default, so a route goes to one door, not the nearest of many.
        await Room.bulk_create([Room(name=f"诊室{i}", department=department) for i in range(args.rooms)])
        room_ids: list[int] = list(await Room.all().values_list("id", flat=True))  # type: ignore[arg-type]
        document = generated_map(args.points, room_ids)
        started = time.perf_counter()
        summary = await map_documents.import_map(document, None)
        print(
            f"map: {summary.points} points, {summary.edges} edges, {summary.floors} floors "
            f"(import {time.perf_counter() - started:.2f} s)"
        )

        map_graph.forget_cached_graph()
        started = time.perf_counter()
        graph = await map_graph.load_graph(settings.navigation_floor_change_cost_m)
        build = time.perf_counter() - started
        map_graph.forget_cached_graph()
        tracemalloc.start()
        graph = await map_graph.load_graph(settings.navigation_floor_change_cost_m)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"graph build from the database (cache miss): {build * 1000:.0f} ms, peak {peak / 2**20:.1f} MiB"
        )

        rng = random.Random(1)
        markers = sorted(graph.point_by_marker)
        pairs = [(rng.choice(markers), rng.choice(room_ids), i % 2 == 1) for i in range(args.routes)]
        pure: list[float] = []
        cpu: list[float] = []
        for marker, room_id, accessible in pairs:
            options = routing.route_options(settings, accessible)
            cpu_started = time.process_time()
            started = time.perf_counter()
            with contextlib.suppress(NoRoute):  # a NoRoute across closed or one-way edges counts too
                find_route(
                    graph, graph.point_by_marker[marker], graph.points_by_room.get(room_id, []), options
                )
            pure.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        print(f"find_route (search + instructions), {len(pure)} routes, wall: {percentiles(pure)}")
        # CPU time of this process: what the search costs, less the waiting on a busy shared machine.
        print(f"find_route (search + instructions), {len(cpu)} routes, CPU:  {percentiles(cpu)}")

        secret = settings.secret_key.get_secret_value()
        app = create_app(settings, manage_database=False)
        transport = httpx.ASGITransport(app=app)
        answers: dict[str, int] = {}
        timings: list[float] = []
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.post("/graphql", json={"query": "{ __typename }"})  # warm the schema's caches
            for marker, room_id, accessible in pairs:
                variables = {
                    "from": sign_marker(secret, marker).code,
                    "to": {"roomId": str(room_id)},
                    "accessible": accessible,
                }
                started = time.perf_counter()
                response = await client.post("/graphql", json={"query": ROUTE, "variables": variables})
                timings.append(time.perf_counter() - started)
                kind = response.json()["data"]["route"]["__typename"]
                answers[kind] = answers.get(kind, 0) + 1
        print(f"GraphQL route request (in-process ASGI), {len(timings)} requests: {percentiles(timings)}")
        print(f"answers: {answers}")
    finally:
        await broker.stop()
        await close_database()
        if args.database_url:
            await test_database._drop_database()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--routes", type=int, default=300)
    parser.add_argument("--rooms", type=int, default=0, help="default: one per room point (a sixth)")
    parser.add_argument(
        "--database-url", default="", help="a server URL without database name; default SQLite"
    )
    asyncio.run(main(parser.parse_args()))
