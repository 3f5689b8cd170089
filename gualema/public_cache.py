"""Cacheable GETs (decision 165): a persisted GET whose root fields are all public catalogue data,
asked without a login, is answered with a short `Cache-Control` (plus stale-while-revalidate), an
`ETag` of its body and `Vary` on what changes the answer; a matching `If-None-Match` gets a 304."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from gualema.least_recently_used import LeastRecentlyUsed

PUBLIC_ROOT_FIELDS = frozenset(
    {
        "__typename",
        "departments",
        "department",
        "doctors",
        "doctor",
        "rooms",
        "registrationTypes",
        "schedule",
        "schedules",
    }
)
# The media type (JSON or graphql-response+json) and the caller (a key's scope) change the answer.
VARY = "Accept, Authorization, X-Api-Key"


def cache_control(max_age: int, stale_seconds: int) -> str:
    return f"public, max-age={max_age}, stale-while-revalidate={stale_seconds}"


def entity_tag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {part.strip().removeprefix("W/") for part in if_none_match.split(",")}
    return tag in candidates or "*" in candidates


def revalidated(request: Request, response: Response, max_age: int, stale_seconds: int) -> Response:
    tag = entity_tag(bytes(response.body))
    headers = {"Cache-Control": cache_control(max_age, stale_seconds), "ETag": tag, "Vary": VARY}
    if matches(request.headers.get("if-none-match"), tag):
        not_modified = Response(status_code=304, headers=headers)
        for name in ("ratelimit", "ratelimit-policy"):
            if name in response.headers:
                not_modified.headers[name] = response.headers[name]
        return not_modified
    response.headers.update(headers)
    return response


@dataclass(frozen=True)
class StoredAnswer:
    body: bytes
    media_type: str
    stored_at: float


class PublicAnswers:
    """This process's copy of recent public answers, served for `max_age` seconds without executing:
    no older than what the Cache-Control header already lets every cache in between serve."""

    def __init__(self, max_age: float, size: int = 1024) -> None:
        self.max_age = max_age
        self.entries: LeastRecentlyUsed[tuple[str, ...], StoredAnswer] = LeastRecentlyUsed(size)

    def get(self, key: tuple[str, ...]) -> StoredAnswer | None:
        answer = self.entries.get(key)
        if answer is None or time.monotonic() - answer.stored_at > self.max_age:
            return None
        return answer

    def put(self, key: tuple[str, ...], response: Response) -> None:
        if self.max_age <= 0:
            return
        media_type = response.headers.get("content-type", "application/json")
        self.entries.put(key, StoredAnswer(bytes(response.body), media_type, time.monotonic()))


def answer_key(request: Request, query: str) -> tuple[str, ...] | None:
    """Anonymous GETs only (no key, no login): their answer depends on nothing but the request."""
    headers = request.headers
    if request.method != "GET" or "authorization" in headers or "x-api-key" in headers:
        return None
    params = request.query_params
    return (query, params.get("operationName", ""), params.get("variables", ""), headers.get("accept", ""))
