"""Each process caches the routing graph; an edit made anywhere is seen by every process's next route."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from gualema.settings import get_settings
from models.navigation_markers import sign_marker
from tests import factories
from tests.fixtures.api import GraphQLClient, ServerProcess
from tests.navigation.maps import clinic_document

ROUTE = """query($from: String!, $room: ID!) { route(from: $from, to: {roomId: $room}) {
  __typename ... on Route { distanceM } ... on NoRouteError { reason } } }"""


async def _route(client: httpx.AsyncClient, variables: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": ROUTE, "variables": variables})
    route: dict[str, Any] = response.json()["data"]["route"]
    return route


async def test_a_closure_made_through_one_process_reroutes_the_next_request_in_another(
    gql: GraphQLClient, server_processes: Callable[..., ServerProcess]
) -> None:
    servers = await asyncio.gather(*(asyncio.to_thread(server_processes) for _ in range(2)))
    admin = await factories.admin_user()
    room = await factories.room()
    entrance = sign_marker(get_settings().secret_key.get_secret_value(), "A-1F-ENTRANCE").code
    variables = {"from": entrance, "room": str(room.id)}
    first, second = (httpx.AsyncClient(base_url=s.url, timeout=10) for s in servers)
    async with first, second:
        imported = await first.post(
            "/graphql",
            json={
                "query": "mutation($d: JSON!) { importMap(document: $d) { __typename } }",
                "variables": {"d": clinic_document(room_id=room.id)},
            },
            headers={"Authorization": f"Bearer {admin.token}"},
        )
        assert imported.json()["data"]["importMap"]["__typename"] == "MapImported"
        # Both processes now hold the graph in their caches.
        assert (
            await _route(first, variables)
            == await _route(second, variables)
            == {
                "__typename": "Route",
                "distanceM": 61.0,
            }
        )

        edges = (await gql.as_(admin.token).data("{ mapEdges { id } }"))["mapEdges"]
        closed = await gql.as_(admin.token).data(
            "mutation($id: ID!) { setMapEdgeClosed(id: $id, closed: true) { __typename } }",
            {"id": edges[4]["id"]},
        )  # the stairs, closed through the test's own process
        assert closed["setMapEdgeClosed"]["__typename"] == "MapEdge"

        assert (
            await _route(first, variables)
            == await _route(second, variables)
            == {
                "__typename": "Route",
                "distanceM": 77.0,
            }
        )
