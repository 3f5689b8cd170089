"""AI预问诊: the pre-consultation conversation (one writer of its status), and the versioned triage
knowledge document (knowledge base + specialty→department map) that administrators edit."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.errors import DomainError, InvalidTransition, writable_updates
from models.triage.knowledge import KnowledgeBase, KnowledgeBaseInvalid, bundled_document, compile_knowledge


class PreConsultationStatus(StrEnum):
    ASKING = "ASKING"
    DONE = "DONE"
    EMERGENCY = "EMERGENCY"
    EXPIRED = "EXPIRED"


TRANSITIONS: dict[PreConsultationStatus, frozenset[PreConsultationStatus]] = {
    PreConsultationStatus.ASKING: frozenset(
        {
            PreConsultationStatus.ASKING,
            PreConsultationStatus.DONE,
            PreConsultationStatus.EMERGENCY,
            PreConsultationStatus.EXPIRED,
        }
    ),
    PreConsultationStatus.DONE: frozenset(),
    PreConsultationStatus.EMERGENCY: frozenset(),
    PreConsultationStatus.EXPIRED: frozenset(),
}


class ConversationClosed(DomainError):
    default_message = "这次预问诊已结束，请重新开始 / this pre-consultation has ended; start a new one"


class ConversationBusy(DomainError):
    default_message = "上一条回答还在处理中，请稍后重试 / the previous answer is still being handled; retry"


class AnswerRejected(DomainError):
    """Empty, too long, or not text: `problem` says which (EMPTY, TOO_LONG, NO_TEXT)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, problem=code)


class PreConsultation(Model):
    id = fields.IntField(primary_key=True)
    account_id = fields.IntField(db_index=True)
    patient_id = fields.IntField(db_index=True)
    status = fields.CharEnumField(PreConsultationStatus, max_length=16, default=PreConsultationStatus.ASKING)
    turn = fields.IntField(default=0)  # answers taken; every write checks it (no lost answer)
    state: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    question = fields.TextField(null=True)
    specialties: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    urgency = fields.CharField(max_length=4, default="IV")
    red_flags: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    summary: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    source = fields.CharField(max_length=16, default="rules")  # rules | llm | llm-fallback
    knowledge_version = fields.IntField(default=0)
    booking_id = fields.IntField(null=True, db_index=True)
    expires_at = fields.DatetimeField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "pre_consultation"


class TriageKnowledgeVersion(Model):
    # Append-only: the row with the highest version is in force. Every process compares its cached
    # version with max(version) (one indexed read) before each conversation step.
    id = fields.IntField(primary_key=True)
    version = fields.IntField(unique=True)
    document: fields.JSONField[dict[str, Any]] = fields.JSONField()
    author_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "triage_knowledge_version"


async def move(
    row: PreConsultation,
    to: PreConsultationStatus,
    *,
    expected_turn: int,
    updates: dict[str, Any] | None = None,
) -> bool:
    """The one writer of a pre-consultation's status: a conditional update on (status, turn), so two
    answers racing on one conversation cannot both win. False when another writer got there first."""
    if to not in TRANSITIONS[row.status]:
        raise InvalidTransition("pre-consultation", row.status.value, to.value)
    values = writable_updates(updates, state_column="status")
    changed = await PreConsultation.filter(id=row.id, status=row.status, turn=expected_turn).update(
        status=to, **values
    )
    if changed != 1:
        return False
    row.status = to
    for name, value in values.items():
        setattr(row, name, value)
    return True


async def expire_if_abandoned(row: PreConsultation, now: datetime) -> PreConsultation:
    """Expiry on read: an ASKING conversation past its deadline becomes EXPIRED (idempotent across
    processes: the conditional update lets exactly one of them write it)."""
    if row.status is PreConsultationStatus.ASKING and row.expires_at <= now:
        await move(row, PreConsultationStatus.EXPIRED, expected_turn=row.turn, updates={"question": None})
        await row.refresh_from_db()
    return row


def deadline(now: datetime, idle_minutes: int) -> datetime:
    return now + timedelta(minutes=idle_minutes)


# ---------------------------------------------------------------- the knowledge document

DOCUMENT_FORMAT = "gualema-triage/1"


def default_document(department_map: dict[str, str] | None = None) -> dict[str, Any]:
    """Knowledge base as shipped, plus a hospital's specialty→department-code map."""
    return {
        "format": DOCUMENT_FORMAT,
        "knowledge": bundled_document(),
        "departments": dict(department_map or {}),
    }


def validate_document(document: Any, department_codes: set[str]) -> KnowledgeBase:
    """Raises KnowledgeBaseInvalid with every problem; returns the compiled knowledge base."""
    if not isinstance(document, dict) or document.get("format") != DOCUMENT_FORMAT:
        raise KnowledgeBaseInvalid([f"format must be {DOCUMENT_FORMAT}"])
    kb = compile_knowledge(document.get("knowledge"))  # type: ignore[arg-type]
    problems = []
    departments = document.get("departments")
    if not isinstance(departments, dict):
        raise KnowledgeBaseInvalid(["departments must map specialty codes to department codes"])
    for specialty, code in departments.items():
        if specialty not in kb.specialties:
            problems.append(f"departments.{specialty}: unknown specialty")
        if code not in department_codes:
            problems.append(f"departments.{specialty}: no active department with code {code}")
    if problems:
        raise KnowledgeBaseInvalid(problems)
    return kb


async def current_version() -> int:
    row = await TriageKnowledgeVersion.all().order_by("-version").first().values("version")
    return int(row["version"]) if row else 0


async def save_version(document: dict[str, Any], author_id: int | None) -> TriageKnowledgeVersion:
    """A new version; two administrators saving at once get distinct versions or one IntegrityError."""
    version = await current_version() + 1
    return await TriageKnowledgeVersion.create(version=version, document=document, author_id=author_id)


async def load_version(version: int) -> TriageKnowledgeVersion | None:
    return await TriageKnowledgeVersion.get_or_none(version=version)
