"""Administrators export, edit and import the knowledge base and the specialty→department map, with
validation and an audit trail; the next conversation step of any process uses the new version."""

from __future__ import annotations

from typing import Any

from gualema.demo_hospital import DEPARTMENTS, SPECIALTY_DEPARTMENTS
from models.audit import AuditEntry
from models.triage.knowledge import bundled
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.pre_consultation.scenario import converse_to_the_end, patient_with_login

EXPORT = "{ triageKnowledge }"
IMPORT = """
mutation($d: JSON!) {
  importTriageKnowledge(document: $d) {
    __typename ... on TriageKnowledgeSaved { version } ... on InvalidInputError { field message }
  }
}"""
MAP = """
mutation($s: String!, $d: ID!) {
  mapSpecialtyToDepartment(specialty: $s, departmentId: $d) {
    __typename ... on TriageKnowledgeSaved { version } ... on Error { message }
  }
}"""
CONCEPT = """
mutation($c: String!, $p: [String!]!, $s: JSON!) {
  setTriageConcept(conceptId: $c, phrases: $p, specialties: $s) {
    __typename ... on TriageKnowledgeSaved { version } ... on InvalidInputError { message }
  }
}"""


async def test_a_new_colloquial_phrase_takes_effect_at_the_next_step(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    eyes = await factories.department(name="眼科", code="YK-K1")
    actor, patient_id = await patient_with_login()
    before = await converse_to_the_end(gql, actor, patient_id, "总是打晃悠")
    assert [d["id"] for d in before["recommendation"]["departments"][:1]] != [str(eyes.id)]

    saved = await gql.as_(admin.token).data(
        CONCEPT, {"c": "eye_colloquial", "p": ["打晃悠"], "s": {"ophthalmology": 5}}
    )
    assert saved["setTriageConcept"]["__typename"] == "TriageKnowledgeSaved"

    after = await converse_to_the_end(gql, actor, patient_id, "总是打晃悠")
    assert after["recommendation"]["departments"][0]["id"] == str(eyes.id)
    audited = await AuditEntry.filter(action="triage_knowledge.set_concept", actor_id=admin.id).count()
    assert audited == 1


async def test_an_invalid_document_is_refused_with_every_problem_named(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    document: dict[str, Any] = (await gql.as_(admin.token).data(EXPORT))["triageKnowledge"]
    document["knowledge"]["concepts"]["cough"]["specialties"] = {"astrology": 3}
    document["knowledge"]["red_flags"][0]["level"] = "IV"
    document["departments"] = {"dermatology": "NO-SUCH-CODE"}

    result = (await gql.as_(admin.token).data(IMPORT, {"d": document}))["importTriageKnowledge"]

    assert result["__typename"] == "InvalidInputError"
    assert "unknown specialty astrology" in result["message"]
    assert "must be level I or II" in result["message"]
    assert "NO-SUCH-CODE" in result["message"] or result["message"].count(";") >= 1


async def test_mapping_a_specialty_moves_its_recommendation_and_exports_round_trip(
    gql: GraphQLClient,
) -> None:
    admin = await factories.admin_user()
    clinic = await factories.department(name="校医务室", code="XYW-K3")
    saved = await gql.as_(admin.token).data(MAP, {"s": "stomatology", "d": str(clinic.id)})
    assert saved["mapSpecialtyToDepartment"]["__typename"] == "TriageKnowledgeSaved"
    actor, patient_id = await patient_with_login()
    done = await converse_to_the_end(gql, actor, patient_id, "牙疼，晚上疼得睡不着")
    assert done["recommendation"]["departments"][0]["name"] == "校医务室"

    exported = (await gql.as_(admin.token).data(EXPORT))["triageKnowledge"]
    assert exported["departments"]["stomatology"] == "XYW-K3"
    again = (await gql.as_(admin.token).data(IMPORT, {"d": exported}))["importTriageKnowledge"]
    assert again["version"] == saved["mapSpecialtyToDepartment"]["version"] + 1


async def test_patients_cannot_read_or_edit_the_knowledge_base(gql: GraphQLClient) -> None:
    actor, _ = await patient_with_login()
    body = await gql.as_(actor.token)(EXPORT)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_demo_hospital_maps_every_specialty_to_a_department_it_has() -> None:
    codes = {code for code, *_ in DEPARTMENTS} | {sub for *_, subs in DEPARTMENTS for sub, _, _ in subs}
    assert set(SPECIALTY_DEPARTMENTS) == set(bundled().specialties)
    assert set(SPECIALTY_DEPARTMENTS.values()) <= codes
