"""The triage knowledge base as data: loaded from `knowledge/kb.json` (or an administrator's edited
document), validated, and compiled once into lookup tables the matcher scans."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.triage.urgency import Urgency

FORMAT = "gualema-triage-kb/1"
BUNDLED_PATH = Path(__file__).with_name("knowledge") / "kb.json"
SLOTS = ("onset", "duration", "location", "severity", "fever", "history", "allergies", "pregnancy")
MAX_PHRASE_LENGTH = 40


class KnowledgeBaseInvalid(ValueError):
    """The document breaks a rule; `problems` lists every one found, in document order."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Phrase:
    text: str
    prefix: bool  # "cough*" matches cough, coughing, coughs
    ascii: bool  # matched on word boundaries


@dataclass(frozen=True)
class Near:
    first: tuple[Phrase, ...]
    second: tuple[Phrase, ...]
    window: int
    cross: bool  # may span clauses ("囤了一堆安眠药，想一次吃掉")


@dataclass(frozen=True)
class Concept:
    id: str
    label_zh: str
    label_en: str
    phrases: tuple[Phrase, ...]
    near: tuple[Near, ...]
    specialties: dict[str, float]
    fills: str | None


@dataclass(frozen=True)
class RedFlag:
    id: str
    level: Urgency
    all_of: tuple[tuple[str, ...], ...]  # every group must have one present concept
    label_zh: str
    label_en: str
    crisis: bool  # mental-health crisis: 12356 as well as 120


@dataclass(frozen=True)
class UrgentRule:
    id: str
    level: Urgency
    any_of: tuple[str, ...]
    min_temperature: float | None


@dataclass(frozen=True)
class Negation:
    zh_cues: dict[str, int]
    zh_not_cues: tuple[str, ...]
    zh_post_cues: tuple[str, ...]  # "鼻子不堵", "嗓子不疼": the denial follows the part
    en_cues: dict[str, int]
    boundary_chars: frozenset[str]
    boundary_words: tuple[str, ...]
    list_joiners: frozenset[str]


@dataclass(frozen=True)
class KnowledgeBase:
    document: dict[str, Any]
    specialties: dict[str, tuple[str, str]]
    default_specialty: str
    concepts: dict[str, Concept]
    red_flags: tuple[RedFlag, ...]
    urgent_rules: tuple[UrgentRule, ...]
    questions: dict[str, tuple[str, str]]
    slot_order: tuple[str, ...]
    negation: Negation
    traditional: dict[int, str]
    # phrase text -> concept ids, longest phrases first (the matcher lets longer matches win)
    phrase_index: tuple[tuple[Phrase, tuple[str, ...]], ...] = field(default=())


def normalise_phrase(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().strip()


def _phrase(raw: str) -> Phrase:
    text = normalise_phrase(raw)
    prefix = text.endswith("*")
    text = text.rstrip("*")
    return Phrase(text=text, prefix=prefix, ascii=text.isascii())


def _expand(item: Any, groups: dict[str, list[str]], where: str, problems: list[str]) -> tuple[Phrase, ...]:
    if isinstance(item, str) and item.startswith("@"):
        if item[1:] not in groups:
            problems.append(f"{where}: unknown group {item}")
            return ()
        return tuple(_phrase(p) for p in groups[item[1:]])
    if isinstance(item, str):
        return (_phrase(item),)
    problems.append(f"{where}: expected a phrase or @group")
    return ()


def _label(raw: Any, fallback: str) -> tuple[str, str]:
    if isinstance(raw, dict):
        return str(raw.get("zh") or fallback), str(raw.get("en") or raw.get("zh") or fallback)
    return fallback, fallback


def _level(raw: Any, where: str, problems: list[str]) -> Urgency:
    try:
        return Urgency(raw)
    except ValueError:
        problems.append(f"{where}: level must be one of I, II, III, IV")
        return Urgency.LEVEL_I


def _check_phrases(phrases: list[Any], where: str, problems: list[str]) -> None:
    for phrase in phrases:
        if not isinstance(phrase, str) or not normalise_phrase(phrase).rstrip("*"):
            problems.append(f"{where}: empty or non-text phrase")
        elif len(phrase) > MAX_PHRASE_LENGTH:
            problems.append(f"{where}: phrase longer than {MAX_PHRASE_LENGTH} characters")


def compile_knowledge(document: dict[str, Any]) -> KnowledgeBase:
    """Validate and compile; raises KnowledgeBaseInvalid listing every problem."""
    problems: list[str] = []
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KnowledgeBaseInvalid([f"format must be {FORMAT}"])
    specialties = {code: _label(value, code) for code, value in (document.get("specialties") or {}).items()}
    if not specialties:
        problems.append("specialties: at least one is required")
    default = document.get("default_specialty", "")
    if default not in specialties:
        problems.append("default_specialty: must be one of the specialties")
    groups = document.get("groups") or {}
    for name, phrases in groups.items():
        _check_phrases(phrases if isinstance(phrases, list) else [None], f"groups.{name}", problems)
    concepts: dict[str, Concept] = {}
    for cid, raw in (document.get("concepts") or {}).items():
        where = f"concepts.{cid}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected an object")
            continue
        phrases = raw.get("phrases") or []
        _check_phrases(phrases, where, problems)
        near: list[Near] = []
        for index, rule in enumerate(raw.get("near") or []):
            if not (
                isinstance(rule, list)
                and len(rule) in (3, 4)
                and isinstance(rule[2], int)
                and 0 < rule[2] <= 40
                and (len(rule) == 3 or rule[3] == "cross")
            ):
                problems.append(f'{where}.near[{index}]: expected [first, second, window 1-40] (+ "cross")')
                continue
            near.append(
                Near(
                    _expand(rule[0], groups, where, problems),
                    _expand(rule[1], groups, where, problems),
                    rule[2],
                    len(rule) == 4,
                )
            )
        weights = raw.get("specialties") or {}
        for code, weight in weights.items():
            if code not in specialties:
                problems.append(f"{where}: unknown specialty {code}")
            if not isinstance(weight, int | float) or not 0 <= weight <= 10:
                problems.append(f"{where}: weight of {code} must be a number from 0 to 10")
        fills = raw.get("fills")
        if fills is not None and fills not in SLOTS:
            problems.append(f"{where}: fills must be one of {', '.join(SLOTS)}")
        if not phrases and not near:
            problems.append(f"{where}: needs phrases or near rules")
        label_zh, label_en = _label(raw.get("label"), cid)
        concepts[cid] = Concept(
            id=cid,
            label_zh=label_zh,
            label_en=label_en,
            phrases=tuple(
                _phrase(p) for p in phrases if isinstance(p, str) and normalise_phrase(p).rstrip("*")
            ),
            near=tuple(near),
            specialties={code: float(w) for code, w in weights.items()},
            fills=fills,
        )
    red_flags: list[RedFlag] = []
    seen: set[str] = set()
    for index, raw in enumerate(document.get("red_flags") or []):
        where = f"red_flags[{index}]"
        fid = str(raw.get("id", ""))
        if not fid or fid in seen:
            problems.append(f"{where}: id missing or repeated")
        seen.add(fid)
        level = _level(raw.get("level"), where, problems)
        if not level.is_emergency:
            problems.append(f"{where}: a red flag must be level I or II")
        all_of = tuple(tuple(group) for group in raw.get("all") or [])
        if not all_of or any(not group for group in all_of):
            problems.append(f"{where}: all must list non-empty groups of concepts")
        for group in all_of:
            for cid in group:
                if cid not in concepts:
                    problems.append(f"{where}: unknown concept {cid}")
        label_zh, label_en = _label(raw.get("label"), fid)
        red_flags.append(RedFlag(fid, level, all_of, label_zh, label_en, bool(raw.get("crisis"))))
    urgent: list[UrgentRule] = []
    for index, raw in enumerate(document.get("urgent_rules") or []):
        where = f"urgent_rules[{index}]"
        any_of = tuple(raw.get("any") or [])
        for cid in any_of:
            if cid not in concepts:
                problems.append(f"{where}: unknown concept {cid}")
        minimum = raw.get("min_temperature")
        urgent.append(
            UrgentRule(str(raw.get("id", "")), _level(raw.get("level"), where, problems), any_of, minimum)
        )
    questions = {slot: _label(text, slot) for slot, text in (document.get("questions") or {}).items()}
    slot_order = tuple(document.get("slot_order") or ())
    for slot in slot_order:
        if slot not in SLOTS or slot not in questions:
            problems.append(f"slot_order: {slot} needs to be a known slot with a question")
    raw_negation = document.get("negation") or {}
    negation = Negation(
        zh_cues={k: int(v) for k, v in (raw_negation.get("zh_cues") or {}).items()},
        zh_not_cues=tuple(raw_negation.get("zh_not_cues") or ()),
        zh_post_cues=tuple(raw_negation.get("zh_post_cues") or ()),
        en_cues={k: int(v) for k, v in (raw_negation.get("en_cues") or {}).items()},
        boundary_chars=frozenset(raw_negation.get("boundary_chars") or "，。"),
        boundary_words=tuple(raw_negation.get("boundary_words") or ()),
        list_joiners=frozenset(raw_negation.get("list_joiners") or "、"),
    )
    pairs = str(document.get("traditional") or "")
    if len(pairs) % 2:
        problems.append("traditional: expected pairs of characters (traditional, simplified)")
    if problems:
        raise KnowledgeBaseInvalid(problems)
    by_phrase: dict[Phrase, list[str]] = {}
    for concept in concepts.values():
        for phrase in concept.phrases:
            by_phrase.setdefault(phrase, []).append(concept.id)
    ordered = tuple(
        (phrase, tuple(ids)) for phrase, ids in sorted(by_phrase.items(), key=lambda item: -len(item[0].text))
    )
    return KnowledgeBase(
        document=document,
        specialties=specialties,
        default_specialty=default,
        concepts=concepts,
        red_flags=tuple(red_flags),
        urgent_rules=tuple(urgent),
        questions=questions,
        slot_order=slot_order,
        negation=negation,
        traditional={ord(pairs[i]): pairs[i + 1] for i in range(0, len(pairs) - 1, 2)},
        phrase_index=ordered,
    )


def bundled_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(BUNDLED_PATH.read_text(encoding="utf-8"))
    return document


_BUNDLED: KnowledgeBase | None = None


def bundled() -> KnowledgeBase:
    """The knowledge base shipped in the repository, compiled once per process."""
    global _BUNDLED
    if _BUNDLED is None:
        _BUNDLED = compile_knowledge(bundled_document())
    return _BUNDLED
