"""AI预问诊 use cases: start, answer, read, stream; attach to a booking; the doctor's view; the
administrators' knowledge document. The offline engine decides; an LLM step, when configured, may only
add wording and raise urgency (see resolvers/pre_consultation_llm.py)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from gualema.settings import Settings
from models import audit
from models import pre_consultation as pc
from models.accounts import Patient
from models.booking import Booking
from models.catalogue import Department, Doctor
from models.clock import utcnow
from models.errors import InvalidInput, NotFound
from models.pre_consultation import (
    AnswerRejected,
    ConversationBusy,
    ConversationClosed,
    PreConsultation,
    PreConsultationStatus,
)
from models.scheduling import Schedule
from models.triage.engine import (
    Assessment,
    ConversationPolicy,
    ConversationState,
    Status,
    input_problem,
    step,
)
from models.triage.knowledge import KnowledgeBase, KnowledgeBaseInvalid, compile_knowledge
from models.triage.urgency import ADVICE, Urgency
from realtime.broker import get_broker
from resolvers.context import Context
from resolvers.pre_consultation_llm import refine  # the optional LLM step; off unless configured

log = logging.getLogger("gualema.pre_consultation")

OPENING = {
    "zh": "您好，我是预问诊助手。请简单说说哪里不舒服、从什么时候开始的？(You may also answer in English.)",
    "en": "Hello, I am the pre-consultation assistant. What is bothering you, and since when?",
}
DISCLAIMER = {
    "zh": "本建议仅用于分诊和挂号参考，不是诊断，也不能代替医生；如遇急症请立即拨打120。",
    "en": "This is triage guidance for booking, not a diagnosis and no substitute for a doctor; "
    "in an emergency call 120.",
}
EMERGENCY_GUIDANCE = {
    "zh": "您描述的情况可能危及生命：请立即拨打120或马上到最近的急诊，不要等待挂号。",
    "en": "What you describe may be life-threatening: call 120 or go to the nearest emergency department.",
}
CRISIS_GUIDANCE = {
    "zh": "您现在的安全最重要：请立即拨打12356心理援助热线，或拨打120/110，并告诉身边信任的人。",
    "en": "Your safety matters most: call the 12356 mental-health hotline now, or 120/110, "
    "and tell someone near you.",
}
INPUT_MESSAGES = {
    "EMPTY": "请输入文字描述您的情况 / please describe how you feel in words",
    "TOO_LONG": "回答太长了，请控制在{cap}字以内 / please keep the answer under {cap} characters",
    "NO_TEXT": "没看懂这条回答，请用文字描述（不能只发表情或符号）"
    "/ please answer in words, not only emoji or symbols",
}


def channel(pre_consultation_id: int) -> str:
    return f"pre-consultation:{pre_consultation_id}"


def conversation_policy(settings: Settings) -> ConversationPolicy:
    return ConversationPolicy(
        max_questions=settings.pre_consultation_max_questions,
        max_answer_chars=settings.pre_consultation_max_answer_chars,
    )


# ---------------------------------------------------------------- knowledge in force


@dataclass(frozen=True)
class KnowledgeInForce:
    version: int
    kb: KnowledgeBase
    departments: dict[str, str]  # specialty -> department code


_cache: dict[int, KnowledgeInForce] = {}


async def knowledge_in_force() -> KnowledgeInForce:
    """The newest saved version (one indexed read per step), compiled once per process and version,
    so an administrator's edit is used by every process at its next step, without a restart."""
    version = await pc.current_version()
    cached = _cache.get(version)
    if cached is not None:
        return cached
    if version == 0:
        document = pc.default_document()
    else:
        row = await pc.load_version(version)
        document = row.document if row else pc.default_document()
    entry = KnowledgeInForce(version, compile_knowledge(document["knowledge"]), dict(document["departments"]))
    _cache.clear()
    _cache[version] = entry
    return entry


async def _department_rows() -> list[Department]:
    return await Department.filter(archived=False).order_by("sort_order", "id")


def _department_for(
    specialty: str,
    knowledge: KnowledgeInForce,
    by_code: dict[str, Department],
    by_name: dict[str, Department],
) -> Department | None:
    """The hospital's map first; else the department named like the specialty (消化内科 → 消化内科)."""
    code = knowledge.departments.get(specialty)
    if code and code in by_code:
        return by_code[code]
    name = knowledge.kb.specialties.get(specialty, ("", ""))[0]
    return by_name.get(name)


@dataclass(frozen=True)
class RecommendedDepartment:
    department: Department
    score: float


async def recommended_departments(
    specialties: list[Any], knowledge: KnowledgeInForce
) -> list[RecommendedDepartment]:
    rows = await _department_rows()
    by_code = {d.code: d for d in rows}
    by_name = {d.name: d for d in rows}
    chosen: dict[int, RecommendedDepartment] = {}
    order: list[int] = []
    pairs = [(str(code), float(score)) for code, score in specialties]
    pairs.append((knowledge.kb.default_specialty, 0.0))
    for specialty, score in pairs:
        department = _department_for(specialty, knowledge, by_code, by_name)
        if department is None:
            continue
        if department.id in chosen:
            previous = chosen[department.id]
            chosen[department.id] = RecommendedDepartment(department, round(previous.score + score, 3))
        else:
            chosen[department.id] = RecommendedDepartment(department, score)
            order.append(department.id)
    return [chosen[i] for i in order][:3]


# ---------------------------------------------------------------- conversation


async def _own_patient(context: Context, patient_id: int) -> Patient:
    patient = await Patient.get_or_none(
        id=patient_id, account_id=context.viewer.account_id, archived_at__isnull=True
    )
    if patient is None:
        raise NotFound("no such patient on this account")
    return patient


async def start(context: Context, patient_id: int) -> PreConsultation:
    await _own_patient(context, patient_id)
    knowledge = await knowledge_in_force()
    now = utcnow()
    row = await PreConsultation.create(
        account_id=context.viewer.account_id,
        patient_id=patient_id,
        status=PreConsultationStatus.ASKING,
        state=ConversationState().to_json(),
        question=OPENING["zh"],
        knowledge_version=knowledge.version,
        expires_at=pc.deadline(now, context.settings.pre_consultation_idle_minutes),
        summary={},
    )
    await _publish(row.id, [OPENING["zh"]], final=False)
    return row


async def _readable(context: Context, pre_consultation_id: int) -> PreConsultation:
    query = PreConsultation.filter(id=pre_consultation_id)
    if not context.viewer.is_admin:
        query = query.filter(account_id=context.viewer.account_id or -1)
    row = await query.first()
    if row is None:
        raise NotFound("no such pre-consultation")
    return await pc.expire_if_abandoned(row, utcnow())


async def read(context: Context, pre_consultation_id: int) -> PreConsultation:
    return await _readable(context, pre_consultation_id)


def _reply_text(assessment: Assessment, language: str, kb: KnowledgeBase) -> list[str]:
    """What the assistant says, in sentences (the pieces the subscription streams)."""
    if assessment.status is Status.EMERGENCY:
        crisis = any(flag.crisis for flag in assessment.red_flags)
        labels = "、".join(
            flag.label_zh if language == "zh" else flag.label_en for flag in assessment.red_flags
        )
        guidance = CRISIS_GUIDANCE if crisis else EMERGENCY_GUIDANCE
        return [guidance[language], f"({labels})", DISCLAIMER[language]]
    if assessment.status is Status.ASKING and assessment.question:
        return [assessment.question]
    names = [kb.specialties[code][0 if language == "zh" else 1] for code, _ in assessment.specialties[:3]]
    lead = "建议就诊科室：" if language == "zh" else "Suggested clinic: "
    return [
        lead + ("、".join(names) if language == "zh" else ", ".join(names)),
        ADVICE[assessment.urgency][language],
        DISCLAIMER[language],
    ]


async def answer(context: Context, pre_consultation_id: int, text: str) -> PreConsultation:
    row = await _readable(context, pre_consultation_id)
    if context.viewer.account_id != row.account_id:
        raise NotFound("no such pre-consultation")
    if row.status is not PreConsultationStatus.ASKING:
        raise ConversationClosed()
    policy = conversation_policy(context.settings)
    problem = input_problem(text, policy)
    if problem is not None:
        raise AnswerRejected(problem.value, INPUT_MESSAGES[problem.value].format(cap=policy.max_answer_chars))
    knowledge = await knowledge_in_force()
    state = ConversationState.from_json(row.state)
    assessment = step(knowledge.kb, state, text.strip(), policy)
    source = "rules"

    refined = await refine(context.settings, knowledge.kb, state, assessment, channel(row.id))
    if refined is not None:
        assessment, source = refined
    to = PreConsultationStatus(assessment.status.value)
    updates = {
        "turn": row.turn + 1,
        "state": state.to_json(),
        "question": assessment.question,
        "specialties": []
        if to is PreConsultationStatus.EMERGENCY
        else [list(p) for p in assessment.specialties],
        "urgency": assessment.urgency.value,
        "red_flags": [flag.id for flag in assessment.red_flags],
        "summary": _summary_json(assessment),
        "source": source,
        "knowledge_version": knowledge.version,
        "expires_at": pc.deadline(utcnow(), context.settings.pre_consultation_idle_minutes),
    }
    async with in_transaction():
        if not await pc.move(row, to, expected_turn=row.turn, updates=updates):
            raise ConversationBusy()
        if to is PreConsultationStatus.EMERGENCY:
            await audit.record(
                context.viewer.account_id,
                "pre_consultation.emergency",
                "pre_consultation",
                row.id,
                after={
                    "red_flags": updates["red_flags"],
                    "urgency": assessment.urgency.value,
                    "source": source,
                },
            )
    await _publish(
        row.id,
        _reply_text(assessment, state.language, knowledge.kb),
        final=to is not PreConsultationStatus.ASKING,
    )
    return row


def _summary_json(assessment: Assessment) -> dict[str, Any]:
    s = assessment.summary
    return {
        "chief_complaint": s.chief_complaint,
        "onset": s.onset,
        "duration": s.duration,
        "severity": s.severity,
        "history": s.history,
        "allergies": s.allergies,
        "pregnancy": s.pregnancy,
        "symptoms": list(s.symptoms),
        "denied": list(s.denied),
    }


async def _publish(pre_consultation_id: int, pieces: list[str], *, final: bool) -> None:
    """After commit: the assistant's text, piece by piece, to `preConsultation(id)` subscribers."""
    broker = get_broker()
    try:
        for index, piece in enumerate(pieces):
            last = final and index == len(pieces) - 1
            await broker.publish(channel(pre_consultation_id), {"text": piece, "done": last, "kind": "reply"})
    except Exception:  # the row is the truth; a subscriber can always re-read it
        log.warning("could not publish pre-consultation %s text", pre_consultation_id)


async def stream(context: Context, pre_consultation_id: int) -> AsyncIterator[dict[str, Any]]:
    row = await _readable(context, pre_consultation_id)
    if context.viewer.account_id != row.account_id and not context.viewer.is_admin:
        raise NotFound("no such pre-consultation")
    async with get_broker().subscribe(channel(row.id)) as messages:
        # a snapshot first (pub/sub is at-most-once): the question standing now, then the live text
        done = row.status is not PreConsultationStatus.ASKING
        yield {"text": row.question or "", "done": done, "kind": "snapshot"}
        async for message in messages:
            if "text" in message:
                yield message


# ---------------------------------------------------------------- booking


def _attachable(account_id: int, patient_id: int, pre_consultation_id: int) -> Any:
    return PreConsultation.filter(
        id=pre_consultation_id,
        account_id=account_id,
        patient_id=patient_id,
        status=PreConsultationStatus.DONE,
        booking_id__isnull=True,
    )


async def check_attachable(account_id: int, patient_id: int, pre_consultation_id: int) -> None:
    if not await _attachable(account_id, patient_id, pre_consultation_id).exists():
        raise InvalidInput("preConsultationId", "no finished pre-consultation of this patient to attach")


async def attach_to_booking(
    account_id: int, patient_id: int, pre_consultation_id: int, booking_id: int
) -> None:
    """Right after bookSlot commits (checked before it with `check_attachable`): a conditional update,
    so one pre-consultation is attached to one booking; losing a race to a second booking leaves the
    second booking without a summary rather than failing a committed booking."""
    changed = await _attachable(account_id, patient_id, pre_consultation_id).update(booking_id=booking_id)
    if changed != 1:
        log.warning(
            "pre-consultation %s was attached elsewhere before booking %s", pre_consultation_id, booking_id
        )


@dataclass(frozen=True)
class BookingReport:
    pre_consultation: PreConsultation
    booking: Booking
    patient: Patient


async def booking_report(context: Context, booking_id: int) -> BookingReport:
    """The summary for the doctor, with the patient's details: that patient's account, the session's
    doctor and administrators only; every read is audited."""
    booking = await Booking.get_or_none(id=booking_id)
    if booking is None:
        raise NotFound("no such booking")
    viewer = context.viewer
    allowed = viewer.is_admin or booking.account_id == viewer.account_id
    if not allowed and viewer.is_doctor:
        schedule = await Schedule.get(id=booking.schedule_id)
        own = await Doctor.filter(account_id=viewer.account_id).values_list("id", flat=True)
        allowed = schedule.doctor_id in own
    row = await PreConsultation.filter(booking_id=booking_id).first() if allowed else None
    if row is None:
        raise NotFound("no pre-consultation for this booking")
    patient = await Patient.get(id=row.patient_id)
    await audit.record(
        viewer.account_id, "pre_consultation.read", "pre_consultation", row.id, reason=f"booking {booking_id}"
    )
    return BookingReport(row, booking, patient)


async def summary_in_patient_view(context: Context, booking_id: int) -> PreConsultation | None:
    """The pre-visit summary in the patient view reached through a booking: for that session's doctor
    and administrators (the view itself is staff-only), audited like `bookingPreConsultation`; none
    until the patient finishes a pre-consultation and attaches it."""
    try:
        return (await booking_report(context, booking_id)).pre_consultation
    except NotFound:
        return None


# ---------------------------------------------------------------- administrators


async def export_document() -> dict[str, Any]:
    knowledge = await knowledge_in_force()
    if knowledge.version == 0:
        return pc.default_document()
    row = await pc.load_version(knowledge.version)
    return row.document if row else pc.default_document()


async def _save(context: Context, document: dict[str, Any], action: str) -> int:
    codes = {d.code for d in await _department_rows()}
    try:
        pc.validate_document(document, codes)
    except KnowledgeBaseInvalid as invalid:
        raise InvalidInput("document", "; ".join(invalid.problems[:20])) from None
    before = await pc.current_version()
    try:
        row = await pc.save_version(document, context.viewer.account_id)
    except IntegrityError:
        raise ConversationBusy("another administrator saved at the same moment; reload and retry") from None
    await audit.record(
        context.viewer.account_id,
        action,
        "triage_knowledge",
        row.version,
        before={"version": before},
        after={"version": row.version},
    )
    return row.version


async def import_document(context: Context, document: Any) -> int:
    if not isinstance(document, dict):
        raise InvalidInput("document", "expected a JSON object")
    return await _save(context, document, "triage_knowledge.import")


async def map_specialty(context: Context, specialty: str, department_id: int) -> int:
    department = await Department.get_or_none(id=department_id, archived=False)
    if department is None:
        raise NotFound("no such department")
    document = await export_document()
    document = {**document, "departments": {**document["departments"], specialty: department.code}}
    return await _save(context, document, "triage_knowledge.map_specialty")


async def set_concept(
    context: Context, concept_id: str, phrases: list[str], specialties: dict[str, float]
) -> int:
    document = await export_document()
    knowledge = dict(document["knowledge"])
    concepts = dict(knowledge.get("concepts") or {})
    concept = dict(concepts.get(concept_id) or {"label": {"zh": concept_id, "en": concept_id}})
    concept["phrases"] = phrases
    concept["specialties"] = specialties
    concepts[concept_id] = concept
    knowledge["concepts"] = concepts
    return await _save(context, {**document, "knowledge": knowledge}, "triage_knowledge.set_concept")


def urgency_of(row: PreConsultation) -> Urgency:
    return Urgency(row.urgency)
