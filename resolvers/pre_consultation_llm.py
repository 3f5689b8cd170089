"""The optional LLM step, off unless GUALEMA_LLM_BASE_URL and GUALEMA_LLM_MODEL are set. It runs when the
offline engine has a recommendation (never before an emergency answer, which is given at once), streams
the reply to subscribers sentence by sentence, and on any failure falls back to the rules' answer and
records that it did (`source = llm-fallback`)."""

from __future__ import annotations

import asyncio
import logging

from gualema.settings import Settings
from integrations.llm.client import LlmEndpoint, LlmFailure, stream_chat
from models.triage import llm_answer
from models.triage.engine import Assessment, ConversationState, Status, evaluate, readings
from models.triage.knowledge import KnowledgeBase
from realtime.broker import get_broker

log = logging.getLogger("gualema.pre_consultation.llm")


def endpoint(settings: Settings) -> LlmEndpoint | None:
    if not settings.llm_base_url or not settings.llm_model:
        return None
    return LlmEndpoint(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value(),
        model=settings.llm_model,
        timeout_seconds=settings.llm_timeout_seconds,
    )


async def _ask(
    target: LlmEndpoint, kb: KnowledgeBase, state: ConversationState, channel: str
) -> llm_answer.LlmAnswer:
    sentences = llm_answer.SentenceStream()
    async for delta in stream_chat(target, llm_answer.messages(kb, state.turns)):
        for sentence in sentences.feed(delta):
            await _publish(channel, sentence)
    return llm_answer.parse(kb, sentences.raw)


async def _publish(channel: str, sentence: str) -> None:
    try:
        await get_broker().publish(channel, {"text": sentence, "done": False, "kind": "llm"})
    except Exception:  # a subscriber re-reads the row; the answer must not fail for a lost piece
        log.warning("could not publish an LLM sentence on %s", channel)


async def refine(
    settings: Settings, kb: KnowledgeBase, state: ConversationState, assessment: Assessment, channel: str
) -> tuple[Assessment, str] | None:
    target = endpoint(settings)
    if target is None or assessment.status is not Status.DONE:
        return None
    try:
        async with asyncio.timeout(target.timeout_seconds):
            answer = await _ask(target, kb, state, channel)
    except (LlmFailure, llm_answer.AnswerInvalid, TimeoutError) as failure:
        log.warning(
            "LLM step failed (%s), model %s, prompt %s: the rules answer",
            failure,
            target.model,
            llm_answer.PROMPT_VERSION,
        )
        return assessment, "llm-fallback"
    merged = llm_answer.merge(assessment, answer)
    # Red flags once more on the final state: the LLM can add urgency, never take a rule's away.
    _, _, flags, rules_urgency, _, _ = evaluate(kb, readings(kb, state.turns))
    if flags and merged.status is not Status.EMERGENCY:
        return assessment, "llm-fallback"
    log.info("LLM step used, model %s, prompt %s", target.model, llm_answer.PROMPT_VERSION)
    return (merged if merged.urgency.rank >= rules_urgency.rank else assessment), "llm"
