"""Browsers of front-end developers reach the API in development; production answers only its list."""

from __future__ import annotations

from tests.http.conftest import ClientFactory

PREFLIGHT = {
    "Origin": "http://localhost:5173",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type, authorization, apollographql-client-name, x-request-id",
}


async def test_a_dev_server_on_any_localhost_port_passes_the_preflight(client_with: ClientFactory) -> None:
    async with client_with(env="development", cors_origins=[]) as http:
        response = await http.options("/graphql", headers=PREFLIGHT)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    allowed = response.headers["access-control-allow-headers"].lower()
    for header in ("content-type", "authorization", "apollographql-client-name", "x-request-id"):
        assert header in allowed


async def test_another_origin_is_refused_in_development(client_with: ClientFactory) -> None:
    async with client_with(env="development", cors_origins=[]) as http:
        response = await http.options("/graphql", headers={**PREFLIGHT, "Origin": "https://evil.example"})

    assert "access-control-allow-origin" not in response.headers


async def test_with_a_list_only_the_listed_origins_are_answered(client_with: ClientFactory) -> None:
    async with client_with(cors_origins=["https://admin.hospital.example"]) as http:
        listed = await http.options(
            "/graphql", headers={**PREFLIGHT, "Origin": "https://admin.hospital.example"}
        )
        localhost = await http.options("/graphql", headers=PREFLIGHT)

    assert listed.headers["access-control-allow-origin"] == "https://admin.hospital.example"
    assert "access-control-allow-origin" not in localhost.headers
