"""Persisted GETs of public catalogue data are cacheable: Cache-Control, ETag, 304, Vary."""

from __future__ import annotations

import httpx

from tests import factories
from tests.http.conftest import ClientFactory
from tests.partners.conftest import (
    DEPARTMENTS,
    PartnerDesk,
    apq,
    document_id,
    get_params,
    new_application,
    sha256,
)


async def test_a_persisted_get_of_departments_is_cacheable_and_revalidates_with_304(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    await desk.manifest(new_application(), DEPARTMENTS)
    params = {"documentId": document_id(DEPARTMENTS)}

    first = await http.get("/graphql", params=params)
    again = await http.get("/graphql", params=params, headers={"If-None-Match": first.headers["etag"]})
    changed = await http.get("/graphql", params=params, headers={"If-None-Match": '"something-else"'})

    assert first.status_code == 200
    assert first.headers["cache-control"] == "public, max-age=10, stale-while-revalidate=60"
    assert first.headers["vary"].startswith("Accept, Authorization, X-Api-Key")
    assert first.headers["etag"].startswith('"')
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == first.headers["cache-control"]
    assert changed.status_code == 200


async def test_an_apq_get_of_public_data_is_cacheable_too(http: httpx.AsyncClient) -> None:
    query = "query PublicTypes { registrationTypes { id name fee } }"
    await http.post("/graphql", json={"query": query, "extensions": apq(sha256(query))})

    response = await http.get("/graphql", params=get_params(extensions=apq(sha256(query))))

    assert response.status_code == 200
    assert "etag" in response.headers


async def test_text_gets_logged_in_callers_and_private_data_are_not_made_cacheable(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    me = "query Me { me { id } }"
    await desk.manifest(new_application(), DEPARTMENTS, me)
    patient = await factories.patient_user()

    as_text = await http.get("/graphql", params={"query": DEPARTMENTS})
    logged_in = await http.get(
        "/graphql",
        params={"documentId": document_id(DEPARTMENTS)},
        headers={"Authorization": f"Bearer {patient.token}"},
    )
    private = await http.get("/graphql", params={"documentId": document_id(me)})

    for response in (as_text, logged_in, private):
        assert response.status_code == 200
        assert "etag" not in response.headers
        assert "public" not in response.headers.get("cache-control", "")


async def test_a_public_answer_is_served_from_the_process_copy_for_max_age_only(
    client_with: ClientFactory, desk: PartnerDesk
) -> None:
    query = "query PublicTypesAgain { registrationTypes { id name } }"
    await desk.manifest(new_application(), query)
    params = {"documentId": document_id(query)}

    async with client_with() as cached, client_with(public_max_age_seconds=0) as uncached:
        before = [await http.get("/graphql", params=params) for http in (cached, uncached)]
        await factories.registration_type()
        after = [await http.get("/graphql", params=params) for http in (cached, uncached)]

    assert after[0].content == before[0].content  # within max-age: the copy, as any cache may serve
    assert after[1].content != before[1].content  # max-age 0: executed again
