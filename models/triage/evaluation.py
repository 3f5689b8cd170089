"""Scoring the engine against the labelled cases (bench/triage_cases/cases.jsonl): department top-1 and
top-3, red-flag recall and precision, hazardous under-triage, urgency agreement, time per turn."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.triage.engine import Assessment, ConversationPolicy, ConversationState, Status, step
from models.triage.knowledge import KnowledgeBase
from models.triage.urgency import Urgency

# What a patient who has nothing more to add answers to every follow-up question.
FOLLOW_UP_ANSWER = {"zh": "不知道", "en": "not sure"}


@dataclass(frozen=True)
class Case:
    id: str
    lang: str
    text: str
    urgency: Urgency
    red_flag: str | None
    specialty: str | None
    split: str


def load_cases(path: Path) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw: dict[str, Any] = json.loads(line)
            cases.append(
                Case(
                    raw["id"],
                    raw["lang"],
                    raw["text"],
                    Urgency(raw["urgency"]),
                    raw["red_flag"],
                    raw["specialty"],
                    raw["split"],
                )
            )
    return cases


@dataclass
class Outcome:
    case: Case
    departments: list[str]
    urgency: Urgency
    emergency: bool
    turn_seconds: list[float] = field(default_factory=list)


Converse = Callable[[Case], tuple[Assessment, list[float]]]


def offline_conversation(kb: KnowledgeBase, policy: ConversationPolicy) -> Converse:
    def converse(case: Case) -> tuple[Assessment, list[float]]:
        state = ConversationState()
        timings: list[float] = []
        text = case.text
        while True:
            started = time.perf_counter()
            assessment = step(kb, state, text, policy)
            timings.append(time.perf_counter() - started)
            if assessment.status is not Status.ASKING:
                return assessment, timings
            text = FOLLOW_UP_ANSWER[state.language]

    return converse


def departments_for(specialties: Iterable[str], mapping: dict[str, str], fallback: str) -> list[str]:
    ordered: list[str] = []
    for code in specialties:
        department = mapping.get(code, fallback)
        if department not in ordered:
            ordered.append(department)
    if fallback not in ordered:
        ordered.append(fallback)
    return ordered[:3]


def run(cases: list[Case], converse: Converse, mapping: dict[str, str], fallback: str) -> list[Outcome]:
    outcomes = []
    for case in cases:
        assessment, timings = converse(case)
        departments = departments_for((code for code, _ in assessment.specialties), mapping, fallback)
        outcomes.append(
            Outcome(case, departments, assessment.urgency, assessment.status is Status.EMERGENCY, timings)
        )
    return outcomes


@dataclass(frozen=True)
class Figures:
    cases: int
    department_cases: int
    top1: float
    top3: float
    red_flag_cases: int
    red_flag_recall: float
    red_flag_precision: float
    hazardous_under_triage: int
    urgency_exact: float
    safe_urgency: float
    over_triage_of_iv: float
    p95_ms: float
    misses: tuple[str, ...]


def figures(outcomes: list[Outcome], mapping: dict[str, str]) -> Figures:
    routine = [o for o in outcomes if o.case.red_flag is None and o.case.specialty is not None]
    top1 = sum(1 for o in routine if o.departments[:1] == [mapping[o.case.specialty or ""]])
    top3 = sum(1 for o in routine if mapping[o.case.specialty or ""] in o.departments[:3])
    flagged = [o for o in outcomes if o.case.red_flag]
    caught = sum(1 for o in flagged if o.emergency)
    raised = [o for o in outcomes if o.emergency]
    hazardous = sum(1 for o in outcomes if o.case.urgency.is_emergency and not o.urgency.is_emergency)
    exact = sum(1 for o in outcomes if o.urgency is o.case.urgency)
    safe = sum(
        1
        for o in outcomes
        if o.urgency.rank >= o.case.urgency.rank - 1
        and not (o.case.urgency.is_emergency and not o.urgency.is_emergency)
    )
    level_iv = [o for o in outcomes if o.case.urgency is Urgency.LEVEL_IV]
    over = sum(1 for o in level_iv if o.emergency)
    timings = sorted(t for o in outcomes for t in o.turn_seconds)
    p95 = timings[min(len(timings) - 1, math.ceil(0.95 * len(timings)) - 1)] * 1000 if timings else 0.0
    misses = tuple(
        f"{o.case.id} {o.case.text} -> {','.join(o.departments)} {o.urgency.value}"
        + (" EMERGENCY" if o.emergency else "")
        for o in outcomes
        if (o.case.red_flag and not o.emergency)
        or (o.case.red_flag is None and o.emergency)
        or (o.case.specialty and o.departments[:1] != [mapping[o.case.specialty]])
    )
    return Figures(
        cases=len(outcomes),
        department_cases=len(routine),
        top1=top1 / len(routine) if routine else 1.0,
        top3=top3 / len(routine) if routine else 1.0,
        red_flag_cases=len(flagged),
        red_flag_recall=caught / len(flagged) if flagged else 1.0,
        red_flag_precision=caught / len(raised) if raised else 1.0,
        hazardous_under_triage=hazardous,
        urgency_exact=exact / len(outcomes) if outcomes else 1.0,
        safe_urgency=safe / len(outcomes) if outcomes else 1.0,
        over_triage_of_iv=over / len(level_iv) if level_iv else 0.0,
        p95_ms=p95,
        misses=misses,
    )
