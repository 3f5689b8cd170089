"""The optional LLM step: off unless GUALEMA_LLM_BASE_URL and GUALEMA_LLM_MODEL are set."""

from __future__ import annotations

from gualema.settings import Settings
from models.triage.engine import Assessment, ConversationState
from models.triage.knowledge import KnowledgeBase


async def refine(
    settings: Settings, kb: KnowledgeBase, state: ConversationState, assessment: Assessment, channel: str
) -> tuple[Assessment, str] | None:
    if not settings.llm_base_url or not settings.llm_model:
        return None
    return None
