"""Streaming chat completions over server-sent events, asking for JSON output.

`stream_chat` yields content deltas as they arrive and raises LlmFailure on anything off the wire
contract: HTTP errors, an `error` event, malformed chunks, a stream that ends without `[DONE]`, a
`length` or `content_filter` finish, blank content. The caller validates the JSON it assembles."""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


class LlmFailure(Exception):
    """Why the LLM step gave nothing usable; `reason` is a short machine-readable word."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class LlmEndpoint:
    base_url: str
    api_key: str
    model: str
    timeout_seconds: float


def _request_body(endpoint: LlmEndpoint, messages: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "model": endpoint.model,
        "messages": messages,
        "stream": True,
        "temperature": 0,
        "response_format": {"type": "json_object"},
    }


async def _lines(response: httpx.Response) -> AsyncIterator[str]:
    """Lines of the event stream, decoded incrementally (a character may be split across reads)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    buffer = ""
    async for raw in response.aiter_bytes():
        buffer += decoder.decode(raw)
        while "\n" in buffer:
            line, buffer = buffer.split("\n", 1)
            yield line.rstrip("\r")
    buffer += decoder.decode(b"", final=True)
    if buffer:
        yield buffer.rstrip("\r")


async def stream_chat(
    endpoint: LlmEndpoint, messages: list[dict[str, str]], client: httpx.AsyncClient | None = None
) -> AsyncIterator[str]:
    owned = client is None
    http = client or httpx.AsyncClient(timeout=httpx.Timeout(endpoint.timeout_seconds))
    url = endpoint.base_url.rstrip("/") + "/chat/completions"
    headers = {"Accept": "text/event-stream"}
    if endpoint.api_key:  # a local Ollama or vLLM takes none
        headers["Authorization"] = f"Bearer {endpoint.api_key}"
    produced = False
    try:
        async with http.stream(
            "POST", url, json=_request_body(endpoint, messages), headers=headers
        ) as response:
            if response.status_code != 200:
                raise LlmFailure("http", str(response.status_code))
            data: list[str] = []
            async for line in _lines(response):
                if line.startswith(":"):
                    continue  # keep-alive comment
                if line.startswith("data:"):
                    data.append(line[5:].lstrip())
                    continue
                if line or not data:
                    continue
                payload = "\n".join(data)
                data = []
                if payload == "[DONE]":
                    if not produced:
                        raise LlmFailure("empty")
                    return
                for delta in _deltas(payload):
                    if delta:
                        produced = produced or bool(delta.strip())
                        yield delta
            raise LlmFailure("truncated", "the stream ended without [DONE]")
    except httpx.HTTPError as exc:
        raise LlmFailure("transport", type(exc).__name__) from None
    finally:
        if owned:
            await http.aclose()


def _deltas(payload: str) -> list[str]:
    try:
        chunk = json.loads(payload)
    except json.JSONDecodeError:
        raise LlmFailure("malformed", "a chunk is not JSON") from None
    if not isinstance(chunk, dict):
        raise LlmFailure("malformed", "a chunk is not an object")
    if "error" in chunk:
        raise LlmFailure("error", str(chunk["error"])[:200])
    out: list[str] = []
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        content = delta.get("content")
        if content is not None and not isinstance(content, str):
            raise LlmFailure("malformed", "content is not text")
        if content:
            out.append(content)
        finish = choice.get("finish_reason")
        if finish in ("length", "content_filter"):
            raise LlmFailure(finish)
    return out
