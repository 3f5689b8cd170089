"""Documents and steps shared by the pre-consultation scenarios."""

from __future__ import annotations

from typing import Any

from tests import factories
from tests.fixtures.api import GraphQLClient

FIELDS = """
    __typename
    ... on PreConsultation {
      id status question source bookingId
      recommendation {
        departments { id name score } urgency urgencyAdvice redFlags disclaimer emergencyGuidance
        bookingDepartmentId
        summary { chiefComplaint onset duration severity history allergies symptoms denied }
      }
    }
    ... on Error { message }
"""
START = "mutation($p: ID!) { startPreConsultation(patientId: $p) {" + FIELDS + "} }"
ANSWER = (
    "mutation($id: ID!, $t: String!) { answerPreConsultation(id: $id, text: $t) {"
    + FIELDS
    + "... on AnswerRejected { problem } } }"
)
READ = "query($id: ID!) { preConsultation(id: $id) {" + FIELDS + "} }"


async def patient_with_login(name: str = "王小明") -> tuple[factories.Actor, int]:
    actor = await factories.patient_user(name=name)
    row = await factories.patient(actor, name=name)
    return actor, row.id


async def start(gql: GraphQLClient, actor: factories.Actor, patient_id: int) -> dict[str, Any]:
    data = await gql.as_(actor.token).data(START, {"p": str(patient_id)})
    result: dict[str, Any] = data["startPreConsultation"]
    return result


async def answer(gql: GraphQLClient, actor: factories.Actor, pc_id: str, text: str) -> dict[str, Any]:
    data = await gql.as_(actor.token).data(ANSWER, {"id": pc_id, "t": text})
    result: dict[str, Any] = data["answerPreConsultation"]
    return result


async def converse_to_the_end(
    gql: GraphQLClient, actor: factories.Actor, patient_id: int, first: str, then: str = "没有"
) -> dict[str, Any]:
    started = await start(gql, actor, patient_id)
    result = await answer(gql, actor, started["id"], first)
    while result["status"] == "ASKING":
        result = await answer(gql, actor, started["id"], then)
    return result
