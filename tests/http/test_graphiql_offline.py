"""GraphiQL works offline (issue 13.10): its page loads nothing from a CDN, and every script and
stylesheet it names is served by the application, byte for byte what its integrity hash says."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx

from tests.http.conftest import ClientFactory

ASSET = re.compile(r'(?:src|href)="(/graphiql-assets/[^"]+)"\s+integrity="(sha384-[^"]+)"')


async def test_the_graphiql_page_and_all_its_assets_come_from_the_application(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/graphql", headers={"Accept": "text/html"})

    assert page.status_code == 200
    assert "graphiql" in page.text
    assert "unpkg.com" not in page.text
    assets = ASSET.findall(page.text)
    assert len(assets) == 7
    for path, integrity in assets:
        response = await http.get(path)
        assert response.status_code == 200, path
        digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
        assert f"sha384-{digest}" == integrity, path


async def test_without_graphiql_the_assets_are_not_served(client_with: ClientFactory) -> None:
    async with client_with(graphiql=False) as http:
        response = await http.get("/graphiql-assets/graphiql.min.js")
    assert response.status_code == 404
