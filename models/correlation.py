"""The id of the request (or background run) on whose behalf code runs: logged with every line, and
stored with the jobs and outbox rows a request causes so that their later dispatch logs it too."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="")
