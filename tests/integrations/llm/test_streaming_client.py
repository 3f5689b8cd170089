"""The chat-completions client against the fake server speaking the real SSE wire format."""

from __future__ import annotations

import json

import pytest

from integrations.llm.client import LlmEndpoint, LlmFailure, stream_chat
from tests.integrations.llm.conftest import RunningFake

MESSAGES = [{"role": "user", "content": "json please"}]


def _endpoint(fake: RunningFake, timeout: float = 5.0) -> LlmEndpoint:
    return LlmEndpoint(base_url=fake.base_url, api_key="sk-test", model="fake-model", timeout_seconds=timeout)


async def _collect(fake: RunningFake, timeout: float = 5.0) -> str:  # noqa: ASYNC109 - the client's own timeout
    return "".join([delta async for delta in stream_chat(_endpoint(fake, timeout), MESSAGES)])


@pytest.mark.parametrize("mode", ["ok", "keepalive_crlf", "split_utf8"])
async def test_a_streamed_answer_is_reassembled_exactly(fake_llm: RunningFake, mode: str) -> None:
    fake_llm.fake.mode = mode
    assert json.loads(await _collect(fake_llm)) == fake_llm.fake.answer
    request = fake_llm.fake.requests[-1]
    assert request["stream"] is True
    assert request["response_format"] == {"type": "json_object"}
    assert request["model"] == "fake-model"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("no_done", "truncated"),
        ("error_event", "error"),
        ("http_429", "http"),
        ("http_500", "http"),
        ("length", "length"),
        ("blank", "empty"),
        ("malformed", "malformed"),
    ],
)
async def test_every_broken_stream_is_a_named_failure(fake_llm: RunningFake, mode: str, reason: str) -> None:
    fake_llm.fake.mode = mode
    with pytest.raises(LlmFailure) as failure:
        await _collect(fake_llm)
    assert failure.value.reason == reason


async def test_a_slow_first_token_times_out(fake_llm: RunningFake) -> None:
    fake_llm.fake.mode = "slow"
    fake_llm.fake.slow_seconds = 3.0
    with pytest.raises(LlmFailure) as failure:
        await _collect(fake_llm, timeout=0.3)
    assert failure.value.reason == "transport"
