"""Concept matching on raw, normalised text: no word segmentation. Longer matches win over the
phrases they contain, and a concept preceded by a negation cue in the same clause ("不发烧",
"没有胸痛", "no fever") is recorded as denied, not present."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from models.triage.knowledge import KnowledgeBase, Phrase

_SPACES = re.compile(r"\s+")
_TEMPERATURE = re.compile(r"(?<![0-9.])(3[5-9]|4[0-2])(?:\.([0-9]))?\s*(?:度|℃|°c|°|c\b)?", re.ASCII)


@dataclass(frozen=True)
class Hit:
    concept: str
    start: int
    end: int
    negated: bool


@dataclass(frozen=True)
class Reading:
    text: str
    hits: tuple[Hit, ...]
    temperature: float | None

    @property
    def present(self) -> frozenset[str]:
        return frozenset(hit.concept for hit in self.hits if not hit.negated)

    @property
    def denied(self) -> frozenset[str]:
        return frozenset(hit.concept for hit in self.hits if hit.negated) - self.present


def normalise(kb: KnowledgeBase, raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw).lower().translate(kb.traditional)
    return _SPACES.sub(" ", text).strip()


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "'")


def _occurrences(text: str, phrase: Phrase) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    start = text.find(phrase.text)
    size = len(phrase.text)
    while start != -1:
        end = start + size
        ok = True
        if phrase.ascii:
            if start > 0 and _is_word_char(text[start - 1]):
                ok = False
            if phrase.prefix:
                while end < len(text) and _is_word_char(text[end]):
                    end += 1
            elif end < len(text) and _is_word_char(text[end]):
                ok = False
        if ok:
            found.append((start, end))
        start = text.find(phrase.text, start + 1)
    return found


def _clause_breaks(kb: KnowledgeBase, text: str) -> list[bool]:
    breaks = [ch in kb.negation.boundary_chars for ch in text]
    for i, ch in enumerate(text):
        # a space separates clauses in Chinese ("没发烧 没吐") but words in English
        if ch == " " and 0 < i < len(text) - 1 and text[i - 1].isascii() and text[i + 1].isascii():
            breaks[i] = False
    for word in kb.negation.boundary_words:
        phrase = Phrase(word, prefix=False, ascii=word.isascii())
        for start, end in _occurrences(text, phrase):
            for i in range(start, end):
                breaks[i] = True
    return breaks


def _crosses(breaks: list[bool], start: int, end: int) -> bool:
    return any(breaks[start:end])


def _near_candidates(kb: KnowledgeBase, text: str, breaks: list[bool]) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for concept in kb.concepts.values():
        for rule in concept.near:
            firsts = [span for phrase in rule.first for span in _occurrences(text, phrase)]
            if not firsts:
                continue
            seconds = [span for phrase in rule.second for span in _occurrences(text, phrase)]
            for a_start, a_end in firsts:
                for b_start, b_end in seconds:
                    if (
                        a_end <= b_start <= a_end + rule.window
                        and (rule.cross or not _crosses(breaks, a_end, b_start))
                        and not _has_cue(kb, text[a_end:b_start])
                    ):
                        found.append((a_start, b_end, concept.id))
    return found


def _has_cue(kb: KnowledgeBase, gap: str) -> bool:
    if not gap:
        return False
    return any(
        cue in gap and not any(nc in gap for nc in kb.negation.zh_not_cues) for cue in kb.negation.zh_cues
    ) or any(re.search(rf"\b{re.escape(cue)}\b", gap) for cue in kb.negation.en_cues)


def _cue_before(
    kb: KnowledgeBase, text: str, breaks: list[bool], start: int, covered: list[bool]
) -> int | None:
    """The end position of the nearest negation cue before `start` in the same clause, if any."""
    clause_start = start
    while clause_start > 0 and not breaks[clause_start - 1]:
        clause_start -= 1
    best: int | None = None
    for cues, ascii_cues in ((kb.negation.zh_cues, False), (kb.negation.en_cues, True)):
        for cue, window in cues.items():
            pos = text.rfind(cue, clause_start, start)
            while pos != -1:
                end = pos + len(cue)
                if start - end > window:
                    break
                if ascii_cues and (
                    (pos > 0 and _is_word_char(text[pos - 1]))
                    or (end < len(text) and _is_word_char(text[end]))
                ):
                    pos = text.rfind(cue, clause_start, pos)
                    continue
                if any(covered[pos:end]) or any(text.startswith(nc, pos) for nc in kb.negation.zh_not_cues):
                    pos = text.rfind(cue, clause_start, pos)
                    continue
                if best is None or end > best:
                    best = end
                break
    return best


def read(kb: KnowledgeBase, raw: str) -> Reading:
    text = normalise(kb, raw)
    breaks = _clause_breaks(kb, text)
    candidates: list[tuple[int, int, str]] = _near_candidates(kb, text, breaks)
    for phrase, concept_ids in kb.phrase_index:
        if phrase.text not in text:
            continue
        for start, end in _occurrences(text, phrase):
            candidates.extend((start, end, cid) for cid in concept_ids)
    # Longest first; a candidate inside an accepted longer span is dropped, unless it has exactly the
    # same span (one phrase may name several concepts).
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[0]))
    covered = [False] * len(text)
    accepted: list[tuple[int, int, str]] = []
    spans: set[tuple[int, int]] = set()
    seen: set[tuple[int, int, str]] = set()
    for start, end, cid in candidates:
        if (start, end, cid) in seen:
            continue
        seen.add((start, end, cid))
        if (start, end) in spans or not any(covered[start:end]):
            accepted.append((start, end, cid))
            spans.add((start, end))
            for i in range(start, end):
                covered[i] = True
    accepted.sort(key=lambda c: (c[0], c[1]))
    hits: list[Hit] = []
    negated_spans: dict[tuple[int, int], bool] = {}
    for start, end, cid in accepted:
        if (start, end) in negated_spans:
            hits.append(Hit(cid, start, end, negated_spans[(start, end)]))
            continue
        negated = _negated(kb, text, breaks, start, end, covered, accepted, negated_spans)
        negated_spans[(start, end)] = negated
        hits.append(Hit(cid, start, end, negated))
    return Reading(text=text, hits=tuple(hits), temperature=_temperature(text))


def _negated(
    kb: KnowledgeBase,
    text: str,
    breaks: list[bool],
    start: int,
    end: int,
    covered: list[bool],
    accepted: list[tuple[int, int, str]],
    negated_spans: dict[tuple[int, int], bool],
) -> bool:
    cue_end = _cue_before(kb, text, breaks, start, covered)
    if cue_end is None:
        # "没有胸痛、出汗": the item right before, joined by 、/和/也, was denied
        before = [(s, e) for s, e, _ in accepted if e <= start]
        if before:
            last = max(before, key=lambda span: span[1])
            gap = text[last[1] : start]
            if gap and all(ch in kb.negation.list_joiners for ch in gap) and negated_spans.get(last, False):
                return True
        return _denied_after(kb, text, breaks, end)
    between = [(s, e) for s, e, _ in accepted if s >= cue_end and e <= start]
    if not between:
        return True
    # "没有胸痛、出汗": a negation carries over a list joined by 、/和/也, never over bare juxtaposition.
    last_start, last_end = max(between)
    gap = text[last_end:start]
    return (
        bool(gap)
        and all(ch in kb.negation.list_joiners for ch in gap)
        and negated_spans.get((last_start, last_end), False)
    )


def _denied_after(kb: KnowledgeBase, text: str, breaks: list[bool], end: int) -> bool:
    """A part followed by a bare denial that closes the clause: "鼻子不堵，", "脖子不硬"."""
    for cue in kb.negation.zh_post_cues:
        if not text.startswith(cue, end) or any(text.startswith(nc, end) for nc in kb.negation.zh_not_cues):
            continue
        after = end + len(cue) + 1
        if after <= len(text) and (after == len(text) or breaks[after]):
            return True
    return False


def _temperature(text: str) -> float | None:
    best: float | None = None
    for match in _TEMPERATURE.finditer(text):
        whole = match.group(0)
        if not any(mark in whole for mark in ("度", "℃", "°", "c", ".")):
            continue
        value = float(match.group(1) + "." + (match.group(2) or "0"))
        best = value if best is None else max(best, value)
    return best
