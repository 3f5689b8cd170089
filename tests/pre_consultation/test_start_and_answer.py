from __future__ import annotations

from datetime import timedelta

from models.audit import AuditEntry
from models.catalogue import Department
from models.clock import utcnow
from models.pre_consultation import PreConsultation
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.pre_consultation.scenario import READ, answer, converse_to_the_end, patient_with_login, start


async def test_a_student_with_diarrhoea_is_asked_a_few_questions_then_sent_to_gastroenterology(
    gql: GraphQLClient,
) -> None:
    gastro = await factories.department(name="消化内科", code="NK-XH-T1")
    actor, patient_id = await patient_with_login()

    started = await start(gql, actor, patient_id)
    assert started["status"] == "ASKING"
    assert started["question"]
    first = await answer(gql, actor, started["id"], "拉肚子两天了，一天跑七八趟厕所，不发烧")
    assert first["status"] == "ASKING"
    assert first["recommendation"] is None

    turns = 1
    result = first
    while result["status"] == "ASKING":
        result = await answer(gql, actor, started["id"], "不知道")
        turns += 1
    assert turns <= 1 + 5
    recommendation = result["recommendation"]
    assert result["status"] == "DONE"
    assert recommendation["departments"][0] == {
        "id": str(gastro.id),
        "name": "消化内科",
        "score": recommendation["departments"][0]["score"],
    }
    assert recommendation["bookingDepartmentId"] == str(gastro.id)
    assert recommendation["urgency"] == "LEVEL_IV"
    assert "不是诊断" in recommendation["disclaimer"]
    assert recommendation["summary"]["duration"] == "两天"
    assert "发热" in recommendation["summary"]["denied"]


async def test_chest_pain_with_sweating_is_diverted_to_120_without_a_department(gql: GraphQLClient) -> None:
    await factories.department(name="心血管内科", code="NK-XX-T2")
    actor, patient_id = await patient_with_login()
    started = await start(gql, actor, patient_id)

    result = await answer(gql, actor, started["id"], "胸口疼，出了一身冷汗")

    assert result["status"] == "EMERGENCY"
    recommendation = result["recommendation"]
    assert recommendation["urgency"] == "LEVEL_I"
    assert recommendation["departments"] == []
    assert recommendation["bookingDepartmentId"] is None
    assert "120" in recommendation["emergencyGuidance"]
    assert recommendation["redFlags"] == ["chest_pain_acs"]
    audited = await AuditEntry.filter(action="pre_consultation.emergency", target_id=started["id"]).count()
    assert audited == 1
    closed = await answer(gql, actor, started["id"], "我现在好了")
    assert closed["__typename"] == "ConversationClosed"


async def test_suicidal_thoughts_get_the_mental_health_hotline(gql: GraphQLClient) -> None:
    actor, patient_id = await patient_with_login()
    started = await start(gql, actor, patient_id)
    result = await answer(gql, actor, started["id"], "活着好累，想死")
    assert result["status"] == "EMERGENCY"
    assert "12356" in result["recommendation"]["emergencyGuidance"]


async def test_empty_long_and_emoji_only_answers_are_refused_with_a_code(gql: GraphQLClient) -> None:
    actor, patient_id = await patient_with_login()
    started = await start(gql, actor, patient_id)
    codes = [
        (await answer(gql, actor, started["id"], text))["problem"] for text in ("  ", "疼" * 501, "😭😭👍")
    ]
    assert codes == ["EMPTY", "TOO_LONG", "NO_TEXT"]
    row = await PreConsultation.get(id=int(started["id"]))
    assert row.turn == 0


async def test_a_conversation_belongs_to_its_patients_account(gql: GraphQLClient) -> None:
    actor, patient_id = await patient_with_login()
    other, _ = await patient_with_login("李娜")
    started = await start(gql, actor, patient_id)
    assert (await answer(gql, other, started["id"], "头疼"))["__typename"] == "NotFoundError"
    read = await gql.as_(other.token).data(READ, {"id": started["id"]})
    assert read["preConsultation"]["__typename"] == "NotFoundError"
    not_mine = await start(gql, other, patient_id)
    assert not_mine["__typename"] == "NotFoundError"


async def test_an_abandoned_conversation_expires_when_next_read(gql: GraphQLClient) -> None:
    actor, patient_id = await patient_with_login()
    started = await start(gql, actor, patient_id)
    await PreConsultation.filter(id=int(started["id"])).update(expires_at=utcnow() - timedelta(minutes=1))

    read = await gql.as_(actor.token).data(READ, {"id": started["id"]})
    assert read["preConsultation"]["status"] == "EXPIRED"
    assert (await answer(gql, actor, started["id"], "头疼"))["__typename"] == "ConversationClosed"


async def test_an_english_conversation_is_answered_in_english(gql: GraphQLClient) -> None:
    await Department.get_or_create(code="EBH-T3", defaults={"name": "耳鼻喉科"})
    actor, patient_id = await patient_with_login()
    result = await converse_to_the_end(gql, actor, patient_id, "sore throat, it hurts to swallow", "no")
    assert result["status"] == "DONE"
    assert result["recommendation"]["urgencyAdvice"].startswith("Level IV")
    assert result["recommendation"]["departments"][0]["name"] == "耳鼻喉科"
