"""Follow-up questions: at most the configured number, each for what is still missing; "没有" and "不知道"
move on; the language follows the patient's text; bad input is named."""

from __future__ import annotations

from models.triage.engine import (
    ConversationPolicy,
    ConversationState,
    InputProblem,
    Status,
    input_problem,
    step,
)
from models.triage.knowledge import bundled


def test_questions_ask_for_what_is_missing_and_stop_at_the_limit() -> None:
    kb = bundled()
    state = ConversationState()
    policy = ConversationPolicy(max_questions=3)
    first = step(kb, state, "拉肚子两天了，不发烧", policy)
    assert first.status is Status.ASKING
    assert state.asked == ["onset"]  # duration and fever were said already
    step(kb, state, "不知道", policy)
    assert state.slots["onset"] == "不详"
    step(kb, state, "没有", policy)
    assert state.slots[state.asked[1]] == "无"
    last = step(kb, state, "对青霉素过敏", policy)
    assert len(state.asked) == 3
    assert last.status is Status.DONE
    assert last.specialties[0][0] == "gastroenterology"
    assert last.summary.duration == "两天"
    assert last.summary.allergies != ""


def test_an_english_patient_is_asked_in_english() -> None:
    state = ConversationState()
    assessment = step(bundled(), state, "I've had a cough for a week", ConversationPolicy())
    assert state.language == "en"
    assert assessment.question is not None
    assert assessment.question.isascii()


def test_zero_questions_recommends_at_once_with_the_allergy_field_explicit() -> None:
    assessment = step(bundled(), ConversationState(), "牙疼", ConversationPolicy(max_questions=0))
    assert assessment.status is Status.DONE
    assert assessment.specialties[0][0] == "stomatology"
    assert assessment.summary.allergies == "未提及"


def test_bad_answers_are_named() -> None:
    policy = ConversationPolicy(max_answer_chars=20)
    assert input_problem("   ", policy) is InputProblem.EMPTY
    assert input_problem("疼" * 21, policy) is InputProblem.TOO_LONG
    assert input_problem("😭😭😭!!", policy) is InputProblem.NO_TEXT
    assert input_problem("头疼😭", policy) is None
