"""Logs: JSON lines when asked, personal data masked, the request id carried from the request into the
jobs and texts it records and into their later dispatch; no traceback for a client's mistake."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable

import httpx
import pytest

from gualema.logging_config import JsonFormatter, PersonalDataFilter, logging_config, mask_personal_data
from gualema.settings import Settings
from integrations.sms.console import ConsoleSmsProvider
from models.correlation import request_id
from models.jobs import Job, JobRunner, enqueue
from models.notifications import SmsMessage
from resolvers.notifications import dispatch_sms
from tests.fixtures.api import GraphQLClient, ServerProcess, stop_server_process


def a_record(message: str, *args: object, exc_info: bool = False) -> logging.LogRecord:
    record = logging.LogRecord("gualema.test", logging.INFO, __file__, 1, message, args, None)
    if exc_info:
        try:
            raise ValueError("patient 110105199003072316 phone 13812345678")
        except ValueError:
            record.exc_info = sys.exc_info()
    return record


def test_phone_and_id_numbers_are_masked_in_messages_and_tracebacks() -> None:
    record = a_record("booked for %s, ID %s", "13812345678", "11010519900307231X", exc_info=True)
    request_id.set("req-42")

    PersonalDataFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))

    assert line["message"] == "booked for 138****5678, ID 110***********231X"
    assert line["request_id"] == "req-42"
    assert (line["level"], line["logger"]) == ("INFO", "gualema.test")
    assert "13812345678" not in line["exception"]
    assert "138****5678" in line["exception"]
    assert "110105199003072316" not in line["exception"]


def test_numbers_inside_longer_digit_runs_are_left_alone() -> None:
    assert mask_personal_data("order 2026120312345678901234") == "order 2026120312345678901234"


def test_text_stays_the_development_default_and_the_level_is_a_setting() -> None:
    text = logging_config(Settings())
    json_config = logging_config(Settings(log_format="json", log_level="WARNING"))

    assert text["formatters"]["main"]["()"].__name__ == "TextFormatter"
    assert json_config["formatters"]["main"]["()"] is JsonFormatter
    assert json_config["root"]["level"] == "WARNING"


SEND_CODE = 'mutation { sendLoginCode(phone: "13912345678") { __typename } }'


async def test_the_request_id_goes_into_the_text_and_its_dispatch(
    http: httpx.AsyncClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    response = await http.post("/graphql", json={"query": SEND_CODE}, headers={"X-Request-Id": "lb-7f3a"})
    caplog.handler.addFilter(PersonalDataFilter())

    with caplog.at_level(logging.INFO, logger="gualema.sms"):
        await dispatch_sms(settings, ConsoleSmsProvider())

    assert response.headers["x-request-id"] == "lb-7f3a"
    [text] = await SmsMessage.all()
    assert text.request_id == "lb-7f3a"
    [sent] = [r for r in caplog.records if r.name == "gualema.sms.console"]
    assert sent.request_id == "lb-7f3a"  # type: ignore[attr-defined]
    assert "13912345678" not in caplog.text


async def test_a_request_without_an_id_gets_one(http: httpx.AsyncClient) -> None:
    first = await http.get("/healthz")
    second = await http.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})

    assert len(first.headers["x-request-id"]) == 16
    assert second.headers["x-request-id"] != "bad id with spaces"


async def test_a_job_runs_under_the_id_of_the_request_that_enqueued_it() -> None:
    seen: list[str] = []

    async def handler(_job: Job) -> None:
        seen.append(request_id.get())

    token = request_id.set("req-booking-1")
    await enqueue("test.remember", {})
    request_id.reset(token)
    await JobRunner({"test.remember": handler}).run_once()

    assert seen == ["req-booking-1"]


async def test_a_client_mistake_logs_no_traceback(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await gql("{ me { id } }")  # not logged in
        await gql("query { departments(first: 1) { nope } }")
        await gql('mutation { login(phone: "13800000000", password: "x") { __typename } }')

    assert [r for r in caplog.records if r.exc_info] == []


async def test_a_production_server_writes_json_lines_with_the_request_id(
    server_processes: Callable[..., ServerProcess],
) -> None:
    server = await asyncio.to_thread(server_processes, extra_env={"GUALEMA_LOG_FORMAT": "json"})
    async with httpx.AsyncClient(base_url=server.url) as http:
        await http.post("/graphql", json={"query": SEND_CODE}, headers={"X-Request-Id": "json-req-1"})
    await asyncio.to_thread(stop_server_process, server)

    lines = server.log_path.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines if not line.startswith("Gualema on ")]
    assert entries
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    ours = [e for e in entries if e.get("request_id") == "json-req-1"]
    assert {e["logger"] for e in ours} >= {"uvicorn.access"}
    assert "13912345678" not in "\n".join(lines)
