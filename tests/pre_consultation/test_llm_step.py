"""The optional LLM step against the fake server: it may improve the wording and raise urgency; it can
never lower urgency, name a medicine, or survive a broken stream (the rules' answer stands)."""

from __future__ import annotations

from typing import Any

import pytest

from gualema.settings import Settings
from models.triage.engine import ConversationPolicy, ConversationState, Status, step
from models.triage.knowledge import bundled
from models.triage.llm_answer import AnswerInvalid, SentenceStream
from models.triage.urgency import Urgency
from resolvers.pre_consultation_llm import refine
from tests.integrations.llm.conftest import RunningFake, fake_llm

__all__ = ["fake_llm"]


def _with_llm(settings: Settings, fake: RunningFake) -> Settings:
    return settings.model_copy(
        update={"llm_base_url": fake.base_url, "llm_model": "fake-model", "llm_timeout_seconds": 2.0}
    )


def _done(text: str) -> tuple[ConversationState, Any]:
    state = ConversationState()
    assessment = step(bundled(), state, text, ConversationPolicy(max_questions=0))
    assert assessment.status is Status.DONE
    return state, assessment


async def test_a_valid_answer_is_used(settings: Settings, fake_llm: RunningFake) -> None:
    state, rules = _done("胳膊上起了红疹子，很痒，电话13700000001")
    result = await refine(_with_llm(settings, fake_llm), bundled(), state, rules, "pre-consultation:test-llm")
    assert result is not None
    merged, source = result
    assert source == "llm"
    assert merged.specialties[0][0] == "dermatology"
    sent = fake_llm.fake.requests[-1]["messages"][1]["content"]
    assert "胳膊" in sent
    assert "13700000001" not in sent


def test_reply_sentences_are_released_one_by_one_and_checked() -> None:
    stream = SentenceStream()
    assert stream.feed('{"reply": "建议您去皮') == []
    assert stream.feed("肤科看看。请避") == ["建议您去皮肤科看看。"]
    with pytest.raises(AnswerInvalid):
        stream.feed('免抓挠，服用布洛芬。"}')


async def test_the_llm_can_raise_urgency_but_never_lower_it(
    settings: Settings, fake_llm: RunningFake
) -> None:
    state, rules = _done("高烧39.8度退不下来")
    assert rules.urgency is Urgency.LEVEL_III
    fake_llm.fake.answer = {"reply": "请今天就诊。", "specialties": ["general_internal"], "urgency": "IV"}
    lowered = await refine(_with_llm(settings, fake_llm), bundled(), state, rules, "pc:x")
    assert lowered is not None
    assert lowered[0].urgency is Urgency.LEVEL_III

    fake_llm.fake.answer = {"reply": "请立即就医。", "specialties": ["general_internal"], "urgency": "II"}
    raised = await refine(_with_llm(settings, fake_llm), bundled(), state, rules, "pc:x")
    assert raised is not None
    assert raised[0].status is Status.EMERGENCY
    assert raised[0].specialties == ()


@pytest.mark.parametrize(
    "mode", ["no_done", "error_event", "http_429", "http_500", "length", "blank", "malformed", "slow"]
)
async def test_any_broken_stream_falls_back_to_the_rules_and_says_so(
    settings: Settings, fake_llm: RunningFake, mode: str
) -> None:
    state, rules = _done("牙疼")
    fake_llm.fake.mode = mode
    fake_llm.fake.slow_seconds = 4.0
    result = await refine(_with_llm(settings, fake_llm), bundled(), state, rules, "pc:x")
    assert result == (rules, "llm-fallback")


@pytest.mark.parametrize(
    "answer",
    [
        {"reply": "可以先服用布洛芬。", "specialties": ["neurology"], "urgency": "IV"},
        {"reply": "您可能是偏头痛。", "specialties": ["neurology"], "urgency": "IV"},
        {"reply": "建议就诊。", "specialties": ["astrology"], "urgency": "IV"},
        {"reply": "建议就诊。", "specialties": ["neurology"], "urgency": "V"},
    ],
)
async def test_a_diagnosis_a_medicine_or_an_unknown_code_is_refused(
    settings: Settings, fake_llm: RunningFake, answer: dict[str, Any]
) -> None:
    state, rules = _done("头疼两天")
    fake_llm.fake.answer = answer
    assert await refine(_with_llm(settings, fake_llm), bundled(), state, rules, "pc:x") == (
        rules,
        "llm-fallback",
    )
