"""AI预问诊: a short symptom conversation that recommends a department, diverts emergencies and hands the
doctor a summary. Every answer carries the disclaimer; no diagnosis and no medicines are ever shown."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types.info import Info

from models import pre_consultation as models
from models.identity import mask_phone
from models.triage.urgency import ADVICE, Urgency
from resolvers import pre_consultation as use_cases
from schema.errors import Error, InvalidInputError, NotFoundError, maps
from schema.ids import parse_id
from schema.list_bounds import at_most, planned
from schema.permissions import IsAdmin, IsAuthenticated, IsPatient

PreConsultationStatus = models.PreConsultationStatus
strawberry.enum(PreConsultationStatus, name="PreConsultationStatus")
strawberry.enum(
    Urgency,
    name="Urgency",
    description="急诊预检分诊 (China, 2018): LEVEL_I 濒危, LEVEL_II 危重, LEVEL_III 急症, LEVEL_IV 非急症.",
)


PLANNED_SYMPTOMS = 30  # phrases the triage engine recognises in one description


@strawberry.type
class RecommendedDepartment:
    id: strawberry.ID
    name: str
    score: float = strawberry.field(description="0-1, the share of the evidence pointing here.")


@strawberry.type
class PreVisitSummary:
    chief_complaint: str
    onset: str
    duration: str
    severity: str
    history: str
    allergies: str = strawberry.field(description="Always explicit: 无 / 未提及 when nothing was said.")
    pregnancy: str
    symptoms: list[str] = strawberry.field(metadata=planned(PLANNED_SYMPTOMS))
    denied: list[str] = strawberry.field(
        description="Symptoms the patient said they do not have.", metadata=planned(PLANNED_SYMPTOMS)
    )


@strawberry.type
class Recommendation:
    departments: list[RecommendedDepartment] = strawberry.field(
        description="Best first; empty for an emergency (go to the emergency department instead).",
        metadata=at_most(3),  # the triage engine names its three best
    )
    urgency: Urgency
    urgency_advice: str
    red_flags: list[str] = strawberry.field(metadata=planned(PLANNED_SYMPTOMS))
    summary: PreVisitSummary
    disclaimer: str
    emergency_guidance: str | None = strawberry.field(description="120, or 12356 for a mental-health crisis.")
    booking_department_id: strawberry.ID | None = strawberry.field(
        description="Pre-fills `schedules(departmentId:)`; null for an emergency (no booking link)."
    )


@strawberry.type
class PreConsultation:
    id: strawberry.ID
    status: PreConsultationStatus
    question: str | None
    patient_id: strawberry.ID
    source: str = strawberry.field(
        description="rules, llm, or llm-fallback (the LLM failed; rules answered)."
    )
    booking_id: strawberry.ID | None
    _row: strawberry.Private[models.PreConsultation]

    @strawberry.field(description="Present when DONE or EMERGENCY.")
    async def recommendation(self) -> Recommendation | None:
        return await _recommendation(self._row)

    @classmethod
    def from_model(cls, row: models.PreConsultation) -> PreConsultation:
        return cls(
            id=strawberry.ID(str(row.id)),
            status=row.status,
            question=row.question,
            patient_id=strawberry.ID(str(row.patient_id)),
            source=row.source,
            booking_id=strawberry.ID(str(row.booking_id)) if row.booking_id else None,
            _row=row,
        )


async def _recommendation(row: models.PreConsultation) -> Recommendation | None:
    if row.status not in (PreConsultationStatus.DONE, PreConsultationStatus.EMERGENCY):
        return None
    language = str((row.state or {}).get("language", "zh"))
    urgency = Urgency(row.urgency)
    emergency = row.status is PreConsultationStatus.EMERGENCY
    departments = (
        []
        if emergency
        else await use_cases.recommended_departments(row.specialties, await use_cases.knowledge_in_force())
    )
    summary = row.summary or {}
    crisis = "suicide" in row.red_flags
    guidance = (
        (use_cases.CRISIS_GUIDANCE if crisis else use_cases.EMERGENCY_GUIDANCE)[language]
        if emergency
        else None
    )
    return Recommendation(
        departments=[
            RecommendedDepartment(
                id=strawberry.ID(str(d.department.id)), name=d.department.name, score=d.score
            )
            for d in departments
        ],
        urgency=urgency,
        urgency_advice=ADVICE[urgency][language],
        red_flags=list(row.red_flags),
        summary=PreVisitSummary(
            chief_complaint=str(summary.get("chief_complaint", "")),
            onset=str(summary.get("onset", "")),
            duration=str(summary.get("duration", "")),
            severity=str(summary.get("severity", "")),
            history=str(summary.get("history", "")),
            allergies=str(summary.get("allergies", "")),
            pregnancy=str(summary.get("pregnancy", "")),
            symptoms=list(summary.get("symptoms", [])),
            denied=list(summary.get("denied", [])),
        ),
        disclaimer=use_cases.DISCLAIMER[language],
        emergency_guidance=guidance,
        booking_department_id=strawberry.ID(str(departments[0].department.id)) if departments else None,
    )


@maps(models.AnswerRejected)
@strawberry.type(
    name="AnswerRejected", description="Empty, too long, or no words: problem EMPTY, TOO_LONG or NO_TEXT."
)
class AnswerRejectedError(Error):
    problem: str


@maps(models.ConversationClosed)
@strawberry.type(name="ConversationClosed")
class ConversationClosedError(Error):
    pass


@maps(models.ConversationBusy)
@strawberry.type(name="ConversationBusy")
class ConversationBusyError(Error):
    pass


@strawberry.type
class PreConsultationText:
    text: str
    done: bool = strawberry.field(description="The conversation's last piece of text.")


@strawberry.type
class PreConsultationReport:
    pre_consultation: PreConsultation
    booking_id: strawberry.ID
    patient_name: str
    patient_id_number_masked: str
    patient_phone_masked: str


@strawberry.type
class TriageKnowledgeSaved:
    version: int


StartPreConsultationResult = Annotated[
    PreConsultation | NotFoundError | InvalidInputError, strawberry.union("StartPreConsultationResult")
]
AnswerPreConsultationResult = Annotated[
    PreConsultation
    | AnswerRejectedError
    | ConversationClosedError
    | ConversationBusyError
    | NotFoundError
    | InvalidInputError,
    strawberry.union("AnswerPreConsultationResult"),
]
PreConsultationResult = Annotated[
    PreConsultation | NotFoundError | InvalidInputError, strawberry.union("PreConsultationResult")
]
PreConsultationReportResult = Annotated[
    PreConsultationReport | NotFoundError | InvalidInputError, strawberry.union("PreConsultationReportResult")
]
SaveTriageKnowledgeResult = Annotated[
    TriageKnowledgeSaved | InvalidInputError | NotFoundError | ConversationBusyError,
    strawberry.union("SaveTriageKnowledgeResult"),
]


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def pre_consultation(self, info: Info, id: strawberry.ID) -> PreConsultationResult:
        return PreConsultation.from_model(await use_cases.read(info.context, parse_id(id)))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A booking's pre-visit summary: its patient, the session's doctor, admins. Audited.",
    )
    async def booking_pre_consultation(
        self, info: Info, booking_id: strawberry.ID
    ) -> PreConsultationReportResult:
        report = await use_cases.booking_report(info.context, parse_id(booking_id, "bookingId"))
        return PreConsultationReport(
            pre_consultation=PreConsultation.from_model(report.pre_consultation),
            booking_id=strawberry.ID(str(report.booking.id)),
            patient_name=report.patient.name,
            patient_id_number_masked=report.patient.id_number_masked,
            patient_phone_masked=mask_phone(report.patient.phone),
        )

    @strawberry.field(
        permission_classes=[IsAdmin], description="Knowledge base and department map as one document."
    )
    async def triage_knowledge(self) -> JSON:
        return cast(JSON, await use_cases.export_document())


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsPatient])
    async def start_pre_consultation(
        self, info: Info, patient_id: strawberry.ID
    ) -> StartPreConsultationResult:
        row = await use_cases.start(info.context, parse_id(patient_id, "patientId"))
        return PreConsultation.from_model(row)

    @strawberry.mutation(permission_classes=[IsPatient])
    async def answer_pre_consultation(
        self, info: Info, id: strawberry.ID, text: str
    ) -> AnswerPreConsultationResult:
        return PreConsultation.from_model(await use_cases.answer(info.context, parse_id(id), text))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Replace the whole document (validated).")
    async def import_triage_knowledge(self, info: Info, document: JSON) -> SaveTriageKnowledgeResult:
        return TriageKnowledgeSaved(
            version=await use_cases.import_document(info.context, cast(Any, document))
        )

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def map_specialty_to_department(
        self, info: Info, specialty: str, department_id: strawberry.ID
    ) -> SaveTriageKnowledgeResult:
        version = await use_cases.map_specialty(
            info.context, specialty, parse_id(department_id, "departmentId")
        )
        return TriageKnowledgeSaved(version=version)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Add or replace one symptom concept.")
    async def set_triage_concept(
        self, info: Info, concept_id: str, phrases: list[str], specialties: JSON
    ) -> SaveTriageKnowledgeResult:
        version = await use_cases.set_concept(info.context, concept_id, phrases, cast(Any, specialties))
        return TriageKnowledgeSaved(version=version)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated], description="The assistant's text as produced."
    )
    async def pre_consultation(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[PreConsultationText, None]:
        async for message in use_cases.stream(info.context, parse_id(id)):
            yield PreConsultationText(text=str(message["text"]), done=bool(message.get("done")))
