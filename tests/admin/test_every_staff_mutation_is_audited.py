"""Every mutation an administrator, registrar or doctor may call leaves an audit entry when it succeeds,
or is on ALLOWED_WITHOUT_AUDIT with its reason. The list of such mutations is read from the schema's
permissions, so a new one fails here until it is walked below (and audited) or listed with a reason."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from strawberry.types.base import get_object_definition

from gualema.settings import Settings
from models.audit import AuditEntry
from models.clock import utcnow
from models.no_shows import NoShowBlock
from models.scheduling import Schedule, Slot
from schema.permissions import IsAdmin, IsDoctor, IsRegistrar, IsStaff
from schema.root import Mutation
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.partners.conftest import DEPARTMENTS, document_id
from tests.payments.fakes import Providers, fresh_ledgers, providers  # noqa: F401 - fixtures
from tests.payments.test_refunds import paid_wechat_booking

STAFF_PERMISSIONS = {IsAdmin, IsStaff, IsRegistrar, IsDoctor}

# Each with why its own record already says who did what and when, in the table clinicians read.
ALLOWED_WITHOUT_AUDIT = {
    # The queue's clinical workflow: every step is a ticket state change with its actor and time in
    # the ticket's history and, through reactions, a booking event with the actor (booking_event).
    "checkInByStaff": "ticket and booking history",
    "callNext": "ticket and booking history",
    "recall": "ticket history",
    "skip": "ticket and booking history",
    "restore": "ticket history",
    "startConsultation": "ticket and booking history",
    "completeConsultation": "ticket and booking history",
    "transfer": "ticket history (the new ticket names the old)",
    "setQueuePriority": "ticket history",
    # A walk-in is a booking placed with the registrar as actor (booking_event) and a desk_payment
    # row naming the registrar and the receipt number.
    "registerWalkIn": "booking event and desk payment with the registrar",
    # A doctor's follow-up reminder for their own patient: the reminder row names the booking.
    "setFollowUpReminder": "the reminder row; no catalogue, schedule or money changes",
}


def staff_mutations() -> set[str]:
    definition = get_object_definition(Mutation, strict=True)
    return {
        field.graphql_name or _camel(field.python_name)
        for field in definition.fields
        if STAFF_PERMISSIONS & set(field.permission_classes)
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


Step = Callable[[], Awaitable[dict[str, Any]]]


class Walk:
    """Runs each mutation once, as it would succeed, and notes how many audit entries it wrote."""

    def __init__(self, gql: GraphQLClient) -> None:
        self.gql = gql
        self.written: dict[str, int] = {}
        self.answers: dict[str, Any] = {}

    async def run(self, token: str, document: str, variables: dict[str, Any] | None = None) -> Any:
        name = document.split("{", 1)[1].split("(")[0].split("{")[0].strip()
        before = await AuditEntry.all().count()
        data = await self.gql.as_(token).data(document, variables)
        answer = data[name]
        self.answers[name] = answer
        self.written[name] = await AuditEntry.all().count() - before
        return answer


def _ok(answer: Any) -> bool:
    return not (
        isinstance(answer, dict) and str(answer.get("__typename", "")).endswith(("Error", "Overlaps"))
    )


async def test_every_staff_mutation_that_succeeds_writes_an_audit_entry(
    gql: GraphQLClient,
    providers: Providers,  # noqa: F811 - the fixture imported above
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = await factories.admin_user()
    walk = Walk(gql)
    a = admin.token

    # -- catalogue
    dept = await walk.run(
        a,
        'mutation { createDepartment(input: {name: "审计科", code: "AUD1"}) '
        "{ __typename ... on Department { id } } }",
    )
    dept_id = dept["id"]
    await walk.run(
        a,
        'mutation($id: ID!) { updateDepartment(input: {id: $id, description: "改"}) { __typename } }',
        {"id": dept_id},
    )
    room = await walk.run(
        a,
        'mutation($d: ID!) { createRoom(input: {name: "审计室", departmentId: $d}) '
        "{ __typename ... on Room { id } } }",
        {"d": dept_id},
    )
    await walk.run(
        a,
        'mutation($id: ID!) { updateRoom(input: {id: $id, floor: "3F"}) { __typename } }',
        {"id": room["id"]},
    )
    reg = await walk.run(
        a,
        'mutation { createRegistrationType(input: {name: "审计号", fee: 100}) '
        "{ __typename ... on RegistrationType { id } } }",
    )
    await walk.run(
        a,
        "mutation($id: ID!) { updateRegistrationType(input: {id: $id, fee: 200}) { __typename } }",
        {"id": reg["id"]},
    )
    doctor = await walk.run(
        a,
        'mutation($d: ID!, $r: ID!, $p: String!) { createDoctor(input: {name: "审医生", title: "主治医师", '
        'departmentId: $d, roomId: $r, phone: $p, password: "doctor12345"}) '
        "{ __typename ... on Doctor { id } } }",
        {"d": dept_id, "r": room["id"], "p": factories.unique_phone()},
    )
    await walk.run(
        a,
        'mutation($id: ID!) { updateDoctor(input: {id: $id, title: "主任医师"}) { __typename } }',
        {"id": doctor["id"]},
    )

    # -- schedules
    day = (utcnow() + timedelta(days=3)).date().isoformat()
    made = await walk.run(
        a,
        "mutation($i: CreateScheduleInput!) { createSchedule(input: $i) "
        "{ __typename ... on Schedule { id slots { id } } } }",
        {
            "i": {
                "doctorId": doctor["id"],
                "registrationTypeId": reg["id"],
                "roomId": room["id"],
                "date": day,
                "startTime": "08:00:00",
                "endTime": "10:00:00",
                "capacity": 4,
            }
        },
    )
    await walk.run(
        a,
        "mutation($i: UpdateScheduleInput!) { updateSchedule(input: $i) { __typename } }",
        {"i": {"scheduleId": made["id"], "capacity": 6, "reason": "加人"}},
    )
    await walk.run(
        a,
        "mutation($i: AddCapacityInput!) { addCapacity(input: $i) { __typename } }",
        {"i": {"scheduleId": made["id"], "added": 1, "reason": "加号"}},
    )
    await walk.run(
        a,
        'mutation($s: ID!) { closeSlot(slotId: $s, reason: "医生迟到") { __typename } }',
        {"s": made["slots"][0]["id"]},
    )
    await walk.run(
        a, "mutation($s: ID!) { deleteSchedule(scheduleId: $s) { __typename } }", {"s": made["id"]}
    )
    template = await walk.run(
        a,
        "mutation($i: CreateWeeklyTemplateInput!) { createWeeklyTemplate(input: $i) "
        "{ __typename ... on WeeklyTemplate { id } } }",
        {
            "i": {
                "doctorId": doctor["id"],
                "registrationTypeId": reg["id"],
                "roomId": room["id"],
                "weekday": 4,
                "startTime": "08:00:00",
                "endTime": "10:00:00",
            }
        },
    )
    await walk.run(
        a,
        "mutation($i: UpdateWeeklyTemplateInput!) { updateWeeklyTemplate(input: $i) { __typename } }",
        {"i": {"templateId": template["id"], "capacity": 9, "reason": "多放号"}},
    )
    await walk.run(a, "mutation { generateSchedules(input: {weeks: 1}) { __typename } }")
    await walk.run(
        a, "mutation($t: ID!) { deleteWeeklyTemplate(templateId: $t) { __typename } }", {"t": template["id"]}
    )
    await walk.run(
        a,
        'mutation($d: Date!) { createClinicClosure(input: {date: $d, reason: "校庆"}) { __typename } }',
        {"d": (utcnow() + timedelta(days=40)).date().isoformat()},
    )
    to_stop = await factories.session(capacity=2)
    await walk.run(
        a,
        'mutation($s: ID!) { stopSchedule(input: {scheduleId: $s, reason: "停诊"}) { __typename } }',
        {"s": str(to_stop.id)},
    )
    doc_row, doc_login = await factories.doctor()
    own = await factories.session(capacity=2, doctor_row=doc_row)
    asked = await walk.run(
        doc_login.token,
        'mutation($s: ID!) { requestScheduleStop(input: {scheduleId: $s, reason: "发热"}) '
        "{ __typename ... on ScheduleStopRequest { id } } }",
        {"s": str(own.id)},
    )
    await walk.run(
        a,
        'mutation($r: ID!) { rejectScheduleStop(input: {requestId: $r, note: "请找替诊"}) { __typename } }',
        {"r": asked["id"]},
    )
    again = (
        await gql.as_(doc_login.token).data(
            'mutation($s: ID!) { requestScheduleStop(input: {scheduleId: $s, reason: "发热"}) '
            "{ ... on ScheduleStopRequest { id } } }",
            {"s": str(own.id)},
        )
    )["requestScheduleStop"]
    await walk.run(
        a,
        "mutation($r: ID!) { approveScheduleStop(input: {requestId: $r}) { __typename } }",
        {"r": again["id"]},
    )
    mine = await factories.session(capacity=2, doctor_row=doc_row, starts_in=timedelta(days=2))
    monkeypatch.setattr(settings, "doctor_may_stop_own_session", True)
    await walk.run(
        doc_login.token,
        'mutation($s: ID!) { stopMySession(input: {scheduleId: $s, reason: "发热"}) { __typename } }',
        {"s": str(mine.id)},
    )

    # -- accounts, desk, money
    holder = await factories.patient_user()
    person = await factories.patient(holder)
    await walk.run(
        a,
        'mutation($p: ID!) { revealPatientIdNumber(patientId: $p, reason: "医保核对") { __typename } }',
        {"p": str(person.id)},
    )
    await walk.run(
        a,
        'mutation($p: ID!) { revealAccountPhone(accountId: $p, reason: "回访") { __typename } }',
        {"p": str(holder.id)},
    )
    await walk.run(
        a,
        'mutation($p: ID!) { disableAccount(accountId: $p, reason: "冒用") { __typename } }',
        {"p": str(holder.id)},
    )
    await walk.run(
        a, "mutation($p: ID!) { enableAccount(accountId: $p) { __typename } }", {"p": str(holder.id)}
    )
    await walk.run(
        a,
        'mutation($p: ID!) { markStaffOrStudent(accountId: $p, marked: true, reason: "在校学生") '
        "{ __typename } }",
        {"p": str(holder.id)},
    )
    await walk.run(
        a,
        'mutation($p: ID!) { resetAccountPassword(accountId: $p, reason: "忘记密码") { __typename } }',
        {"p": str(holder.id)},
    )
    block = await NoShowBlock.create(
        identity_hash=person.id_number_hash,
        patient_id=person.id,
        account_id=holder.id,
        no_shows=3,
        starts_at=utcnow(),
        ends_at=utcnow() + timedelta(days=30),
    )
    await walk.run(
        a,
        'mutation($b: ID!) { liftNoShowBlock(input: {blockId: $b, reason: "误判"}) { __typename } }',
        {"b": str(block.id)},
    )
    staff = await walk.run(
        a,
        'mutation($p: String!, $d: ID!) { createStaffAccount(input: {phone: $p, password: "registrar123", '
        'name: "挂号员", role: REGISTRAR, departmentIds: [$d]}) { __typename ... on Account { id } } }',
        {"p": factories.unique_phone(), "d": dept_id},
    )
    await walk.run(
        a,
        'mutation($id: ID!) { setAccountRole(input: {accountId: $id, role: PATIENT, reason: "离职"}) '
        "{ __typename } }",
        {"id": staff["id"]},
    )
    held = await paid_wechat_booking(gql, providers, fee=2000)
    await walk.run(
        a,
        'mutation($b: ID!) { refundBooking(input: {bookingId: $b, amount: 500, reason: "部分退费"}) '
        "{ __typename } }",
        {"b": str(held.booking.id)},
    )

    # -- screens and partners
    shown = await walk.run(
        a,
        "mutation($r: ID!) { issueDisplayToken(input: {roomIds: [$r]}) "
        "{ __typename ... on DisplayToken { tokenId } } }",
        {"r": room["id"]},
    )
    await walk.run(
        a,
        'mutation($t: ID!) { revokeDisplayToken(tokenId: $t, reason: "电视更换") { __typename } }',
        {"t": shown["tokenId"]},
    )
    await walk.run(a, "mutation { issueDashboardToken { tokenId } }")
    application = f"app-{secrets.token_hex(3)}"
    key = await walk.run(
        a,
        'mutation($app: String!) { createPartnerKey(input: {application: $app, name: "挂号机"}) '
        "{ __typename ... on PartnerKeyCreated { partnerKey { id } } } }",
        {"app": application},
    )
    await walk.run(
        a, "mutation($id: ID!) { revokePartnerKey(id: $id) { __typename } }", {"id": key["partnerKey"]["id"]}
    )
    manifest = await walk.run(
        a,
        'mutation($app: String!, $m: JSON!) { uploadPartnerManifest(application: $app, version: "1", '
        "manifest: $m) { __typename ... on PartnerManifest { id } } }",
        {"app": application, "m": {document_id(DEPARTMENTS): DEPARTMENTS}},
    )
    await walk.run(
        a, "mutation($id: ID!) { activatePartnerManifest(id: $id) { __typename } }", {"id": manifest["id"]}
    )
    await walk.run(
        a, "mutation($id: ID!) { retirePartnerManifest(id: $id) { __typename } }", {"id": manifest["id"]}
    )

    # -- triage knowledge
    await walk.run(
        a,
        'mutation($d: ID!) { mapSpecialtyToDepartment(specialty: "stomatology", departmentId: $d) '
        "{ __typename } }",
        {"d": dept_id},
    )
    await walk.run(
        a,
        'mutation { setTriageConcept(conceptId: "audit_walk", phrases: ["审计用语"], '
        "specialties: {stomatology: 1}) { __typename } }",
    )
    document = (await gql.as_(a).data("{ triageKnowledge }"))["triageKnowledge"]
    await walk.run(
        a, "mutation($d: JSON!) { importTriageKnowledge(document: $d) { __typename } }", {"d": document}
    )

    # -- the map, item by item and whole
    building = await walk.run(
        a,
        'mutation { createBuilding(input: {code: "AUD", name: "审计楼"}) '
        "{ __typename ... on Building { id } } }",
    )
    await walk.run(
        a,
        'mutation($id: ID!) { updateBuilding(id: $id, input: {code: "AUD", name: "审计大楼"}) '
        "{ __typename } }",
        {"id": building["id"]},
    )
    floor = await walk.run(
        a,
        'mutation($b: ID!) { createFloor(input: {buildingId: $b, name: "1F", level: 1}) '
        "{ __typename ... on Floor { id } } }",
        {"b": building["id"]},
    )
    await walk.run(
        a,
        'mutation($id: ID!, $b: ID!) { updateFloor(id: $id, input: {buildingId: $b, name: "1F", level: 0}) '
        "{ __typename } }",
        {"id": floor["id"], "b": building["id"]},
    )
    points = []
    for key_name, x in (("gate", 0.0), ("desk", 10.0)):
        points.append(
            await walk.run(
                a,
                "mutation($f: ID!, $k: String!, $x: Float!) { createMapPoint(input: {floorId: $f, key: $k, "
                "kind: ENTRANCE, x: $x, y: 0}) { __typename ... on MapPoint { id } } }",
                {"f": floor["id"], "k": key_name, "x": x},
            )
        )
    await walk.run(
        a,
        'mutation($id: ID!, $f: ID!) { updateMapPoint(id: $id, input: {floorId: $f, key: "gate", '
        "kind: ENTRANCE, x: 1, y: 0}) { __typename } }",
        {"id": points[0]["id"], "f": floor["id"]},
    )
    edge = await walk.run(
        a,
        "mutation($s: ID!, $e: ID!) { createMapEdge(input: {startId: $s, endId: $e}) "
        "{ __typename ... on MapEdge { id } } }",
        {"s": points[0]["id"], "e": points[1]["id"]},
    )
    await walk.run(
        a,
        "mutation($id: ID!, $s: ID!, $e: ID!) { updateMapEdge(id: $id, input: {startId: $s, endId: $e, "
        "stepFree: false}) { __typename } }",
        {"id": edge["id"], "s": points[0]["id"], "e": points[1]["id"]},
    )
    await walk.run(
        a, "mutation($id: ID!) { setMapEdgeClosed(id: $id, closed: true) { __typename } }", {"id": edge["id"]}
    )
    await walk.run(a, "mutation($id: ID!) { deleteMapEdge(id: $id) { __typename } }", {"id": edge["id"]})
    await walk.run(
        a, "mutation($id: ID!) { deleteMapPoint(id: $id) { __typename } }", {"id": points[1]["id"]}
    )
    exported = (await gql.as_(a).data("{ exportMap }"))["exportMap"]
    await walk.run(
        a, "mutation($id: ID!) { deleteMapPoint(id: $id) { __typename } }", {"id": points[0]["id"]}
    )
    await walk.run(a, "mutation($id: ID!) { deleteFloor(id: $id) { __typename } }", {"id": floor["id"]})
    await walk.run(a, "mutation($id: ID!) { deleteBuilding(id: $id) { __typename } }", {"id": building["id"]})
    await walk.run(a, "mutation($d: JSON!) { importMap(document: $d) { __typename } }", {"d": exported})

    # -- archiving last: the catalogue rows above are in use until here
    await Schedule.filter(doctor_id=int(doctor["id"])).delete()  # generated sessions hold the doctor
    await Slot.filter(schedule__doctor_id=int(doctor["id"])).delete()
    await walk.run(a, "mutation($id: ID!) { archiveDoctor(id: $id) { __typename } }", {"id": doctor["id"]})
    await walk.run(a, "mutation($id: ID!) { archiveRoom(id: $id) { __typename } }", {"id": room["id"]})
    await walk.run(
        a, "mutation($id: ID!) { archiveRegistrationType(id: $id) { __typename } }", {"id": reg["id"]}
    )
    await walk.run(a, "mutation($id: ID!) { archiveDepartment(id: $id) { __typename } }", {"id": dept_id})

    refused = {name: answer for name, answer in walk.answers.items() if not _ok(answer)}
    assert refused == {}, "each step should succeed"
    walked = set(walk.written)
    assert staff_mutations() - walked - set(ALLOWED_WITHOUT_AUDIT) == set(), "walk the new mutation here"
    assert set(ALLOWED_WITHOUT_AUDIT) <= staff_mutations(), "the allow-list names only staff mutations"
    assert len(walk.written) >= 60  # the walk really ran: every non-listed staff mutation above
    unaudited = sorted(name for name, written in walk.written.items() if written == 0)
    assert unaudited == []
