"""A fake OpenAI-compatible chat-completions server for tests: it streams `chat.completion.chunk`
events as the real APIs do (role chunk, content deltas, finish chunk, usage chunk, `[DONE]`), and can
misbehave on request: keep-alives and CRLF, a UTF-8 character split across writes, no `[DONE]`, an
`error` event, HTTP 429/500, a slow first token, a `length` finish, blank content, a malformed chunk."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODES = (
    "ok",
    "keepalive_crlf",
    "split_utf8",
    "no_done",
    "error_event",
    "http_429",
    "http_500",
    "slow",
    "length",
    "blank",
    "malformed",
)


@dataclass
class FakeLlm:
    """`answer` is the JSON object the model "returns"; `mode` picks the behaviour of the next calls."""

    answer: dict[str, Any] = field(default_factory=dict)
    mode: str = "ok"
    slow_seconds: float = 5.0
    requests: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        if self.mode == "http_429":
            return JSONResponse(
                {"error": {"message": "Rate limit reached", "type": "rate_limit"}}, status_code=429
            )
        if self.mode == "http_500":
            return JSONResponse({"error": {"message": "internal error"}}, status_code=500)
        return StreamingResponse(self._events(body.get("model", "fake")), media_type="text/event-stream")

    def _chunk(self, model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        newline = "\r\n" if self.mode == "keepalive_crlf" else "\n"
        return f"data: {json.dumps(chunk, ensure_ascii=False)}{newline}{newline}".encode()

    async def _events(self, model: str) -> AsyncIterator[bytes]:
        if self.mode == "slow":
            await asyncio.sleep(self.slow_seconds)
        if self.mode == "keepalive_crlf":
            yield b": keep-alive\r\n\r\n"
        yield self._chunk(model, {"role": "assistant", "content": ""})
        text = "   " if self.mode == "blank" else json.dumps(self.answer, ensure_ascii=False)
        if self.mode == "length":
            text = text[: len(text) // 2]
        pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
        for index, piece in enumerate(pieces):
            if self.mode == "error_event" and index == 2:
                yield b'data: {"error": {"message": "upstream overloaded", "type": "server_error"}}\n\n'
                return
            if self.mode == "malformed" and index == 1:
                yield b"data: {not json\n\n"
            encoded = self._chunk(model, {"content": piece})
            if self.mode == "split_utf8":
                cut = next((i for i, byte in enumerate(encoded) if byte >= 0x80), len(encoded) // 2) + 1
                yield encoded[:cut]
                await asyncio.sleep(0)
                yield encoded[cut:]
            else:
                yield encoded
        yield self._chunk(model, {}, "length" if self.mode == "length" else "stop")
        usage = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "choices": [],
            "usage": {"total_tokens": 42},
        }
        yield f"data: {json.dumps(usage)}\n\n".encode()
        if self.mode != "no_done":
            yield b"data: [DONE]\n\n"
