"""Logs: text for development, one JSON object per line in production (`GUALEMA_LOG_FORMAT=json`),
at `GUALEMA_LOG_LEVEL`; every line carries the request id, and phone and ID numbers are masked in
every message, whoever logged it (docs/decisions/153)."""

from __future__ import annotations

import json
import logging
import logging.config
import re
import secrets
import traceback
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gualema.settings import Settings
from models.correlation import request_id
from models.identity import mask_id_number, mask_phone

# Mainland mobile numbers and 18-character resident ID numbers, not inside longer digit runs.
_PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_GIVEN_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
REQUEST_ID_HEADER = "x-request-id"


def mask_personal_data(text: str) -> str:
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group()), text)
    return _PHONE.sub(lambda m: mask_phone(m.group()), text)


class PersonalDataFilter(logging.Filter):
    """Masks the formatted message (and a traceback's text) and stamps the request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data(message)
        if masked != message or record.args:
            record.msg, record.args = masked, ()
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if rid := getattr(record, "request_id", ""):
            entry["request_id"] = rid
        if record.exc_info:
            entry["exception"] = mask_personal_data("".join(traceback.format_exception(*record.exc_info)))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        return mask_personal_data(super().formatException(ei))


def logging_config(settings: Settings) -> dict[str, Any]:
    """A dictConfig for this process; uvicorn applies it in every worker process too."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if settings.log_format == "json"
        else {
            "()": TextFormatter,
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        }
    )
    handler = {"class": "logging.StreamHandler", "formatter": "main", "filters": ["personal_data"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"personal_data": {"()": PersonalDataFilter}},
        "formatters": {"main": formatter},
        "handlers": {"stderr": handler},
        "root": {"level": settings.log_level, "handlers": ["stderr"]},
        "loggers": {
            name: {"level": settings.log_level, "handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(logging_config(settings))


class RequestIdMiddleware:
    """Takes the caller's `X-Request-Id` (a balancer's) or makes one, answers with it, and sets it for
    everything the request runs, down to the jobs and texts it records."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        rid = given if _GIVEN_ID.fullmatch(given) else secrets.token_hex(8)
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
