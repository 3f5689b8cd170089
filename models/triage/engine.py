"""One conversation step of the offline engine: read the new answer, check every red flag on the whole
conversation, fill what the patient said into the summary, then either divert, ask for the next missing
item, or recommend. Pure and deterministic; the state is a small JSON-able record."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from models.triage.knowledge import KnowledgeBase, RedFlag
from models.triage.matcher import Reading, read
from models.triage.urgency import Urgency, highest

_CJK = re.compile(r"[\u3400-\u9fff]")
_LETTERS = re.compile(r"[A-Za-z]")
_WORDISH = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")
_DURATION = re.compile(
    r"((?:快|近|将近|差不多|大概|有)?(?:[0-9]+|[一二两三四五六七八九十半几]+|好几|一整)(?:个)?(?:多)?"
    r"(?:分钟|小时|钟头|天|日|周|星期|礼拜|个月|月|年|上午|下午|晚上))"
    r"|((?:[0-9]+|a|an|one|two|three|four|five|six|seven|few|several|couple of)"
    r"\s+(?:minutes?|hours?|days?|weeks?|months?|years?))",
    re.IGNORECASE,
)
_ONSET = re.compile(
    r"(突然|昨天|昨晚|今天|今早|今天早上|早上|前天|刚才|刚刚|最近|上周|上个月|前两天|前几天|这几天|这两天|半夜|"
    r"suddenly|yesterday|this morning|last night|today|recently|last week|since)",
    re.IGNORECASE,
)
_SEVERITY_NUMBER = re.compile(r"(?<![0-9])(10|[0-9])\s*(?:分|/10|out of 10)", re.ASCII)
_SEVERITY_WORDS = (
    (
        "重",
        (
            "受不了",
            "厉害",
            "剧",
            "要命",
            "很疼",
            "很痛",
            "特别",
            "非常",
            "severe",
            "terrible",
            "really bad",
            "worst",
        ),
    ),
    ("轻", ("有点", "一点", "轻微", "还好", "隐隐", "mild", "a bit", "slight")),
)
_HISTORY = re.compile(
    r"(以前|之前|既往|一直有|有(?:高血压|糖尿病|哮喘|心脏病|胃病|鼻炎|甲亢|癫痫)|在吃|吃药|手术|病史|history|asthma|diabetes|operation)",
    re.IGNORECASE,
)
_ALLERGY_NONE = re.compile(r"(没有?过敏|不过敏|无过敏|否认过敏|no (?:known )?allerg)", re.IGNORECASE)
_ALLERGY = re.compile(r"(对?[\u3400-\u9fffA-Za-z]{1,10}过敏|allergic to [a-z ]{1,30})", re.IGNORECASE)
_NONE_ANSWERS = re.compile(
    r"^(没有?|没呢|无|都没有|没有的|不是|否|没怀孕|不会|no|nope|none|nothing|not really|n/?a)\W*$",
    re.IGNORECASE,
)
_UNKNOWN_ANSWERS = re.compile(
    r"^(不知道|不清楚|不记得|不确定|说不好|忘了|没量|没测|不懂"
    r"|dunno|don'?t know|not sure|no idea|unsure)\W*$",
    re.IGNORECASE,
)
_LOCATION_FREE = frozenset({"general_internal", "psychology", "tcm"})
_PREGNANCY_RELEVANT = frozenset(
    {"abdominal_pain", "nausea", "menstrual", "pregnancy", "right_lower_abdomen", "bleeding"}
)
CHIEF_COMPLAINT_CHARS = 20


class Status(StrEnum):
    ASKING = "ASKING"
    DONE = "DONE"
    EMERGENCY = "EMERGENCY"


class InputProblem(StrEnum):
    EMPTY = "EMPTY"
    TOO_LONG = "TOO_LONG"
    NO_TEXT = "NO_TEXT"  # emoji, punctuation or symbols only


@dataclass(frozen=True)
class ConversationPolicy:
    max_questions: int = 5
    max_answer_chars: int = 500


def input_problem(text: str, policy: ConversationPolicy) -> InputProblem | None:
    stripped = text.strip()
    if not stripped:
        return InputProblem.EMPTY
    if len(stripped) > policy.max_answer_chars:
        return InputProblem.TOO_LONG
    if not _WORDISH.search(stripped):
        return InputProblem.NO_TEXT
    return None


def language_of(text: str) -> str:
    return "zh" if _CJK.search(text) or not _LETTERS.search(text) else "en"


@dataclass
class ConversationState:
    """What the conversation has gathered so far; stored as JSON with the pre-consultation row."""

    language: str = "zh"
    turns: list[str] = field(default_factory=list)
    slots: dict[str, str] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    pending: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "turns": list(self.turns),
            "slots": dict(self.slots),
            "asked": list(self.asked),
            "pending": self.pending,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> ConversationState:
        raw = raw or {}
        return cls(
            language=str(raw.get("language", "zh")),
            turns=list(raw.get("turns", [])),
            slots=dict(raw.get("slots", {})),
            asked=list(raw.get("asked", [])),
            pending=raw.get("pending"),
        )


@dataclass(frozen=True)
class Summary:
    chief_complaint: str
    onset: str
    duration: str
    severity: str
    history: str
    allergies: str
    pregnancy: str
    symptoms: tuple[str, ...]
    denied: tuple[str, ...]


@dataclass(frozen=True)
class Assessment:
    status: Status
    question: str | None
    specialties: tuple[tuple[str, float], ...]  # best first, scores 0-1
    urgency: Urgency
    red_flags: tuple[RedFlag, ...]
    urgent_rules: tuple[str, ...]
    summary: Summary
    present: frozenset[str]


def _unknown(language: str) -> str:
    return "不详" if language == "zh" else "unknown"


def _none(language: str) -> str:
    return "无" if language == "zh" else "none"


def _not_mentioned(language: str) -> str:
    return "未提及" if language == "zh" else "not mentioned"


def _fill_from_text(text: str, reading: Reading, slots: dict[str, str], language: str) -> None:
    if "duration" not in slots and (match := _DURATION.search(text)):
        slots["duration"] = match.group(0)
    if "onset" not in slots and (match := _ONSET.search(text)):
        slots["onset"] = match.group(0)
    if "severity" not in slots:
        if match := _SEVERITY_NUMBER.search(text):
            slots["severity"] = f"{match.group(1)}/10"
        elif "severe_pain" in reading.present:
            slots["severity"] = "重" if language == "zh" else "severe"
        else:
            lowered = text.lower()
            for label, words in _SEVERITY_WORDS:
                if any(word in lowered for word in words):
                    slots["severity"] = label if language == "zh" else {"重": "severe", "轻": "mild"}[label]
                    break
    fever_words = {"fever", "very_high_fever"}
    if "fever" not in slots:
        if reading.temperature is not None:
            slots["fever"] = f"{reading.temperature:g}℃"
        elif reading.present & fever_words:
            slots["fever"] = "有" if language == "zh" else "yes"
        elif reading.denied & fever_words:
            slots["fever"] = _none(language)
    if "history" not in slots and (match := _HISTORY.search(text)):
        slots["history"] = _clause_around(text, match.start())
    if "allergies" not in slots:
        if _ALLERGY_NONE.search(text):
            slots["allergies"] = _none(language)
        elif (match := _ALLERGY.search(text)) and (
            "对" in match.group(0) or "allergic to" in match.group(0).lower()
        ):
            slots["allergies"] = match.group(0)
    if "pregnancy" not in slots and "pregnancy" in reading.denied:
        slots["pregnancy"] = _none(language)


def _clause_around(text: str, position: int) -> str:
    start = max(text.rfind(mark, 0, position) for mark in "，,。.;；")
    ends = [i for i in (text.find(mark, position) for mark in "，,。.;；") if i != -1]
    return text[start + 1 : min(ends) if ends else len(text)].strip()[:40]


def _answer_pending(text: str, state: ConversationState) -> None:
    slot = state.pending
    if slot is None or slot in state.slots:
        return
    stripped = text.strip()
    if _UNKNOWN_ANSWERS.match(stripped):
        state.slots[slot] = _unknown(state.language)
    elif _NONE_ANSWERS.match(stripped):
        state.slots[slot] = _none(state.language)
    else:
        state.slots[slot] = stripped[:40]


def _score(kb: KnowledgeBase, present: dict[str, int]) -> tuple[tuple[str, float], ...]:
    totals: dict[str, float] = {}
    for cid, mentions in present.items():
        # a symptom named again ("老咳嗽…就咳") counts a little more, never as much as a second symptom
        repeat = 1.0 + 0.3 * min(mentions - 1, 2)
        for code, weight in kb.concepts[cid].specialties.items():
            totals[code] = totals.get(code, 0.0) + weight * repeat
    order = list(kb.specialties)
    ranked = sorted(
        (item for item in totals.items() if item[1] > 0), key=lambda item: (-item[1], order.index(item[0]))
    )
    if not ranked:
        return ((kb.default_specialty, 1.0),)
    total = sum(score for _, score in ranked)
    return tuple((code, round(score / total, 3)) for code, score in ranked)


def _chief_complaint(
    kb: KnowledgeBase, present: frozenset[str], slots: dict[str, str], first: str, language: str
) -> str:
    weighted = sorted(
        (cid for cid in present if kb.concepts[cid].specialties),
        key=lambda cid: -max(kb.concepts[cid].specialties.values(), default=0.0),
    )
    labels = [
        kb.concepts[cid].label_zh if language == "zh" else kb.concepts[cid].label_en for cid in weighted[:3]
    ]
    joiner = "、" if language == "zh" else ", "
    text = joiner.join(labels) if labels else first.strip()
    if duration := slots.get("duration"):
        text = f"{text} {duration}"
    return text[:CHIEF_COMPLAINT_CHARS]


def _next_slot(kb: KnowledgeBase, state: ConversationState, present: frozenset[str]) -> str | None:
    located = any(set(kb.concepts[cid].specialties) - _LOCATION_FREE for cid in present)
    for slot in kb.slot_order:
        if slot in state.slots or slot in state.asked:
            continue
        if slot == "location" and located:
            continue
        if slot == "pregnancy" and not present & _PREGNANCY_RELEVANT:
            continue
        return slot
    return None


def _mentions(reads: list[Reading], present: frozenset[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reading in reads:
        for hit in reading.hits:
            if hit.concept in present and not hit.negated:
                counts[hit.concept] = counts.get(hit.concept, 0) + 1
    return counts


def readings(kb: KnowledgeBase, turns: list[str]) -> list[Reading]:
    return [read(kb, turn) for turn in turns]


def evaluate(
    kb: KnowledgeBase, reads: list[Reading]
) -> tuple[frozenset[str], frozenset[str], tuple[RedFlag, ...], Urgency, tuple[str, ...], float | None]:
    """Concepts present and denied over the whole conversation, the red flags that hold, the rules'
    urgency and the urgent rules that fired."""
    present = frozenset().union(*(r.present for r in reads)) if reads else frozenset()
    denied = (frozenset().union(*(r.denied for r in reads)) if reads else frozenset()) - present
    temperatures = [r.temperature for r in reads if r.temperature is not None]
    temperature = max(temperatures) if temperatures else None
    flags = tuple(
        flag for flag in kb.red_flags if all(any(cid in present for cid in group) for group in flag.all_of)
    )
    fired = tuple(
        rule.id
        for rule in kb.urgent_rules
        if any(cid in present for cid in rule.any_of)
        or (
            rule.min_temperature is not None
            and temperature is not None
            and temperature >= rule.min_temperature
        )
    )
    levels = [flag.level for flag in flags] + [rule.level for rule in kb.urgent_rules if rule.id in fired]
    return present, denied, flags, highest(*levels), fired, temperature


def step(kb: KnowledgeBase, state: ConversationState, text: str, policy: ConversationPolicy) -> Assessment:
    """Take one patient message (already checked with `input_problem`) and decide what comes next.
    Mutates `state`."""
    if not state.turns or _LETTERS.search(text) or _CJK.search(text):
        state.language = language_of(text)
    _answer_pending(text, state)
    state.turns.append(text)
    reads = readings(kb, state.turns)
    for turn, reading in zip(state.turns, reads, strict=True):
        _fill_from_text(turn, reading, state.slots, state.language)
    present, denied, flags, urgency, fired, _ = evaluate(kb, reads)
    specialties = _score(kb, _mentions(reads, present))
    summary = _summary(kb, state, present, denied)
    if flags:
        state.pending = None
        return Assessment(Status.EMERGENCY, None, (), urgency, flags, fired, summary, present)
    slot = _next_slot(kb, state, present) if len(state.asked) < policy.max_questions else None
    if slot is not None:
        state.asked.append(slot)
        state.pending = slot
        zh, en = kb.questions[slot]
        question = zh if state.language == "zh" else en
        return Assessment(Status.ASKING, question, specialties, urgency, (), fired, summary, present)
    state.pending = None
    return Assessment(Status.DONE, None, specialties, urgency, (), fired, summary, present)


def _summary(
    kb: KnowledgeBase, state: ConversationState, present: frozenset[str], denied: frozenset[str]
) -> Summary:
    language = state.language
    slots = state.slots
    label = (
        (lambda cid: kb.concepts[cid].label_zh)
        if language == "zh"
        else (lambda cid: kb.concepts[cid].label_en)
    )
    return Summary(
        chief_complaint=_chief_complaint(kb, present, slots, state.turns[0] if state.turns else "", language),
        onset=slots.get("onset", _not_mentioned(language)),
        duration=slots.get("duration", _not_mentioned(language)),
        severity=slots.get("severity", _not_mentioned(language)),
        history=slots.get("history", _not_mentioned(language)),
        allergies=slots.get("allergies", _not_mentioned(language)),
        pregnancy=slots.get("pregnancy", _not_mentioned(language) if present & _PREGNANCY_RELEVANT else ""),
        symptoms=tuple(sorted(label(cid) for cid in present)),
        denied=tuple(sorted(label(cid) for cid in denied)),
    )
