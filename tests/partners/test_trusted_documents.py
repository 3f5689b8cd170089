"""Trusted documents: manifests per partner application, pending -> active -> retired; partner keys
run only their active manifests' documents."""

from __future__ import annotations

import httpx

from tests.http.conftest import ClientFactory
from tests.partners.conftest import (
    ACTIVATE,
    DEPARTMENTS,
    DOCTORS,
    REGISTRATION_TYPES,
    RETIRE,
    UPLOAD,
    PartnerDesk,
    apollo_manifest,
    apq,
    document_id,
    new_application,
    sha256,
)


async def test_a_partner_key_runs_a_document_of_its_active_manifest_by_id(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    app = new_application()
    await desk.manifest(app, DEPARTMENTS)
    partner = await desk.key(app)

    by_id = await http.post(
        "/graphql", json={"documentId": document_id(DEPARTMENTS)}, headers=partner.headers
    )
    by_apq_hash = await http.post(
        "/graphql", json={"extensions": apq(sha256(DEPARTMENTS))}, headers=partner.headers
    )
    as_bearer = await http.post(
        "/graphql",
        json={"documentId": document_id(DEPARTMENTS)},
        headers={"Authorization": f"Bearer {partner.key}"},
    )

    for response in (by_id, by_apq_hash, as_bearer):
        assert response.status_code == 200, response.text
        assert "departments" in response.json()["data"]


async def test_a_partner_key_is_refused_raw_text_and_documents_outside_its_manifests(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    mine, theirs = new_application(), new_application()
    await desk.manifest(mine, DEPARTMENTS)
    await desk.manifest(theirs, REGISTRATION_TYPES)
    partner = await desk.key(mine)

    raw_text = await http.post("/graphql", json={"query": DEPARTMENTS}, headers=partner.headers)
    other_app = await http.post(
        "/graphql", json={"documentId": document_id(REGISTRATION_TYPES)}, headers=partner.headers
    )

    for response in (raw_text, other_app):
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_REQUIRED"


async def test_an_unknown_document_id_gets_one_clear_error(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"documentId": "sha256:" + "0" * 64})

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "PERSISTED_DOCUMENT_NOT_FOUND"
    assert error["message"].startswith("未知的文档 sha256:")


async def test_documents_of_pending_and_retired_manifests_do_not_run(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    app = new_application()
    manifest_id = await desk.manifest(app, DOCTORS, activate=False)
    partner = await desk.key(app)
    request = {"documentId": document_id(DOCTORS), "variables": {"departmentId": None}}

    pending = await http.post("/graphql", json=request, headers=partner.headers)
    await desk.gql.data(ACTIVATE, {"id": manifest_id})
    active = await http.post("/graphql", json=request, headers=partner.headers)
    await desk.gql.data(RETIRE, {"id": manifest_id})
    retired = await http.post("/graphql", json=request, headers=partner.headers)

    assert pending.status_code == 400
    assert active.status_code == 200
    assert "doctors" in active.json()["data"]
    assert retired.status_code == 400
    assert retired.json()["errors"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_NOT_FOUND"


async def test_manifests_move_pending_active_retired_and_never_back(desk: PartnerDesk) -> None:
    manifest_id = await desk.manifest(new_application(), DEPARTMENTS, activate=False)

    activated = await desk.gql.data(ACTIVATE, {"id": manifest_id})
    retired = await desk.gql.data(RETIRE, {"id": manifest_id})
    again = await desk.gql.data(ACTIVATE, {"id": manifest_id})

    assert activated["activatePartnerManifest"]["status"] == "ACTIVE"
    assert retired["retirePartnerManifest"]["status"] == "RETIRED"
    assert again["activatePartnerManifest"]["__typename"] == "InvalidStatusTransition"


async def test_a_manifest_is_validated_against_the_schema_on_upload(desk: PartnerDesk) -> None:
    broken = "query Broken { departments { noSuchField } }"
    lying = apollo_manifest(DEPARTMENTS)
    lying["operations"][0]["id"] = sha256(REGISTRATION_TYPES)

    invalid = await desk.gql.data(
        UPLOAD, {"application": new_application(), "version": "1", "manifest": apollo_manifest(broken)}
    )
    wrong_id = await desk.gql.data(
        UPLOAD, {"application": new_application(), "version": "1", "manifest": lying}
    )

    assert invalid["uploadPartnerManifest"]["__typename"] == "ManifestNotValid"
    assert "noSuchField" in invalid["uploadPartnerManifest"]["problems"][0]
    assert wrong_id["uploadPartnerManifest"]["__typename"] == "ManifestNotValid"


async def test_a_plain_id_to_body_map_is_accepted_as_a_manifest(desk: PartnerDesk) -> None:
    uploaded = await desk.gql.data(
        UPLOAD,
        {
            "application": new_application(),
            "version": "2",
            "manifest": {document_id(DEPARTMENTS): DEPARTMENTS},
        },
    )

    assert uploaded["uploadPartnerManifest"] == {
        "__typename": "PartnerManifest",
        "id": uploaded["uploadPartnerManifest"]["id"],
        "status": "PENDING",
        "documentCount": 1,
    }


async def test_a_key_is_held_to_its_operations_and_departments(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    app = new_application()
    await desk.manifest(app, DEPARTMENTS, DOCTORS)
    partner = await desk.key(app, operations=["Doctors"], departmentIds=["1"])

    other_operation = await http.post(
        "/graphql", json={"documentId": document_id(DEPARTMENTS)}, headers=partner.headers
    )
    other_department = await http.post(
        "/graphql",
        json={"documentId": document_id(DOCTORS), "variables": {"departmentId": "2"}},
        headers=partner.headers,
    )
    granted = await http.post(
        "/graphql",
        json={"documentId": document_id(DOCTORS), "variables": {"departmentId": "1"}},
        headers=partner.headers,
    )

    assert other_operation.json()["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED"
    assert other_department.json()["errors"][0]["extensions"]["code"] == "DEPARTMENT_NOT_ALLOWED"
    assert granted.status_code == 200


async def test_audit_mode_lets_the_request_through(
    client_with: ClientFactory, desk: PartnerDesk, caplog: object
) -> None:
    app = new_application()
    await desk.manifest(app, DEPARTMENTS)
    partner = await desk.key(app)

    async with client_with(trusted_documents="audit") as http:
        response = await http.post("/graphql", json={"query": REGISTRATION_TYPES}, headers=partner.headers)

    assert response.status_code == 200
    assert "registrationTypes" in response.json()["data"]
    assert "would refuse key" in caplog.text  # type: ignore[attr-defined]


async def test_a_revoked_key_is_refused_and_is_shown_only_once(
    http: httpx.AsyncClient, desk: PartnerDesk
) -> None:
    app = new_application()
    await desk.manifest(app, DEPARTMENTS)
    partner = await desk.key(app)
    listed = await desk.gql.data("{ partnerKeys { id keyHint } }")

    await desk.revoke(partner)
    refused = await http.post(
        "/graphql", json={"documentId": document_id(DEPARTMENTS)}, headers=partner.headers
    )

    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert partner.key not in str(listed)
    assert {"id": partner.key_id, "keyHint": partner.key[:12]} in listed["partnerKeys"]
