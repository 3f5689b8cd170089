"""The offline engine against the labelled cases (bench/triage_cases/cases.jsonl): the safety targets on
the whole set, the department targets on the development part (the held-out part is reported by
bench/triage_eval.py, never tuned on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gualema.demo_hospital import SPECIALTY_DEPARTMENTS
from models.triage.engine import ConversationPolicy
from models.triage.evaluation import Outcome, figures, load_cases, offline_conversation, run
from models.triage.knowledge import bundled

CASES = Path(__file__).resolve().parents[2] / "bench" / "triage_cases" / "cases.jsonl"


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    cases = load_cases(CASES)
    converse = offline_conversation(bundled(), ConversationPolicy())
    return run(cases, converse, SPECIALTY_DEPARTMENTS, SPECIALTY_DEPARTMENTS["general_internal"])


def test_the_labelled_set_is_big_enough_and_split_by_id() -> None:
    cases = load_cases(CASES)
    assert sum(1 for c in cases if c.lang == "zh") >= 300
    assert sum(1 for c in cases if c.lang == "en") >= 50
    assert len({c.id for c in cases}) == len(cases)
    assert {c.split for c in cases} == {"dev", "heldout"}


def test_every_red_flag_case_is_diverted_and_none_is_under_triaged(outcomes: list[Outcome]) -> None:
    result = figures(outcomes, SPECIALTY_DEPARTMENTS)
    missed = [o.case.id for o in outcomes if o.case.red_flag and not o.emergency]
    assert missed == []
    assert result.red_flag_recall == 1.0
    assert result.hazardous_under_triage == 0


def test_departments_meet_the_targets_on_the_development_part(outcomes: list[Outcome]) -> None:
    result = figures([o for o in outcomes if o.case.split == "dev"], SPECIALTY_DEPARTMENTS)
    assert result.top3 >= 0.95
    assert result.top1 >= 0.80
