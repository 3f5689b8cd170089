"""Cacheable GETs (decision 165): a persisted GET whose root fields are all public catalogue data,
asked without a login, is answered with a short `Cache-Control` (plus stale-while-revalidate), an
`ETag` of its body and `Vary` on what changes the answer; a matching `If-None-Match` gets a 304."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

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
