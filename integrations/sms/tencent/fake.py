"""A fake Tencent Cloud SMS endpoint on 127.0.0.1 that checks what the real one checks.

It verifies TC3-HMAC-SHA256 (credential scope, signed headers, body hash, a timestamp within five
minutes), answers request errors (AuthFailure.SignatureFailure, AuthFailure.SignatureExpire,
AuthFailure.SecretIdNotFound) and per-number statuses (LimitExceeded.PhoneNumberThirtySecondLimit
and friends under flow control, InvalidParameterValue.IncorrectPhoneNumber), and records each text
once per SessionContext.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integrations.sms.fake_ledger import DeliveredText, FakeSmsLedger
from integrations.sms.tencent.signature import ALGORITHM, SIGNED_HEADERS, authorization

_PHONE = re.compile(r"^\+861[3-9]\d{9}$")
_AUTH = re.compile(
    ALGORITHM + r" Credential=(?P<id>[^/]+)/(?P<date>[\d-]+)/(?P<service>\w+)/tc3_request, "
    r"SignedHeaders=(?P<headers>[\w;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)


class FakeTencentSms:
    def __init__(self, secrets_by_id: dict[str, str], ledger: FakeSmsLedger | None = None) -> None:
        self.secrets_by_id = secrets_by_id
        self.ledger = ledger or FakeSmsLedger()
        self.app = Starlette(routes=[Route("/", self.handle, methods=["POST"])])

    def _error(self, code: str, message: str) -> JSONResponse:
        self.ledger.refused.append(code)
        # Tencent answers API errors with HTTP 200 and Response.Error.
        return JSONResponse(
            {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": secrets.token_hex(8)}}
        )

    def _status(
        self, phone: str, code: str, message: str, serial: str = "", context: str = ""
    ) -> JSONResponse:
        if code != "Ok":
            self.ledger.refused.append(code)
        status: dict[str, Any] = {
            "SerialNo": serial,
            "PhoneNumber": phone,
            "Fee": 1 if code == "Ok" else 0,
            "SessionContext": context,
            "Code": code,
            "Message": message,
            "IsoCode": "CN",
        }
        return JSONResponse({"Response": {"SendStatusSet": [status], "RequestId": secrets.token_hex(8)}})

    async def handle(self, request: Request) -> JSONResponse:
        body = await request.body()
        match = _AUTH.match(request.headers.get("authorization", ""))
        if match is None or match["headers"] != SIGNED_HEADERS or match["service"] != "sms":
            return self._error("AuthFailure.InvalidAuthorization", "Authorization header is malformed.")
        secret = self.secrets_by_id.get(match["id"])
        if secret is None:
            return self._error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        try:
            stamp = int(request.headers.get("x-tc-timestamp", ""))
        except ValueError:
            return self._error("MissingParameter", "X-TC-Timestamp is missing.")
        if abs(time.time() - stamp) > 300:
            return self._error("AuthFailure.SignatureExpire", "Signature expired.")
        expected = authorization(
            secret_id=match["id"],
            secret_key=secret,
            timestamp=stamp,
            service="sms",
            method=request.method,
            content_type=request.headers.get("content-type", ""),
            host=request.headers.get("host", ""),
            body=body,
        )
        if not secrets.compare_digest(expected, request.headers.get("authorization", "")):
            return self._error(
                "AuthFailure.SignatureFailure", "The provided credentials could not be validated."
            )
        if (
            request.headers.get("x-tc-action") != "SendSms"
            or request.headers.get("x-tc-version") != "2021-01-11"
        ):
            return self._error("InvalidAction", "The action is not supported.")
        try:
            payload = json.loads(body)
            phones: list[str] = payload["PhoneNumberSet"]
            template_id = str(payload["TemplateId"])
            values: list[str] = list(payload.get("TemplateParamSet") or [])
        except (ValueError, KeyError, TypeError):
            return self._error("InvalidParameter", "the request body is invalid")
        key = str(payload.get("SessionContext", ""))
        phone = phones[0] if phones else ""
        self.ledger.requests_by_key[key] += 1
        if self.ledger.planned_failures:
            code = self.ledger.planned_failures.popleft()
            if code.startswith(("AuthFailure", "InternalError", "RequestLimitExceeded")):
                return self._error(code, "planned failure")
            return self._status(phone, code, "planned failure", context=key)
        if not _PHONE.match(phone):
            return self._status(
                phone, "InvalidParameterValue.IncorrectPhoneNumber", "incorrect phone number", context=key
            )
        earlier = self.ledger.delivered_before(key) if key else None
        if earlier is not None:
            return self._status(phone, "Ok", "send success", earlier.message_id, key)
        if self.ledger.over_flow_control(phone.removeprefix("+86")):
            return self._status(
                phone,
                "LimitExceeded.PhoneNumberThirtySecondLimit",
                "单个手机号30秒内下发短信条数超过设定的上限",
                context=key,
            )
        serial = f"{secrets.randbelow(10**10)}:{secrets.token_hex(12)}"
        self.ledger.record(DeliveredText(phone.removeprefix("+86"), template_id, values, key, serial))
        return self._status(phone, "Ok", "send success", serial, key)
