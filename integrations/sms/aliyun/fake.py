"""A fake Aliyun SMS endpoint on 127.0.0.1 that checks what the real one checks.

It verifies the RPC signature (HMAC-SHA1 over the canonicalised query), refuses a reused
SignatureNonce and a stale Timestamp, answers Aliyun's error codes (isv.BUSINESS_LIMIT_CONTROL under
per-number flow control, isv.MOBILE_NUMBER_ILLEGAL, ...) and records each text once per OutId, so a
test can count deliveries by our idempotency key.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integrations.sms.aliyun.signature import sign
from integrations.sms.fake_ledger import DeliveredText, FakeSmsLedger

REQUIRED = (
    "AccessKeyId",
    "Action",
    "Format",
    "PhoneNumbers",
    "RegionId",
    "SignName",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "TemplateCode",
    "Timestamp",
    "Version",
)
_PHONE = re.compile(r"^1[3-9]\d{9}$")


class FakeAliyunSms:
    def __init__(self, access_keys: dict[str, str], ledger: FakeSmsLedger | None = None) -> None:
        self.access_keys = access_keys
        self.ledger = ledger or FakeSmsLedger()
        self.nonces: set[str] = set()
        self.app = Starlette(routes=[Route("/", self.handle, methods=["GET", "POST"])])

    def _answer(self, code: str, message: str, status: int = 200) -> JSONResponse:
        self.ledger.refused.append(code)
        return JSONResponse(
            {"RequestId": secrets.token_hex(8), "Code": code, "Message": message}, status_code=status
        )

    async def handle(self, request: Request) -> JSONResponse:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.form()).items()})
        missing = [name for name in REQUIRED if not params.get(name)]
        if missing:
            return self._answer("MissingParameter", f"missing {missing[0]}", 400)
        secret = self.access_keys.get(params["AccessKeyId"])
        if secret is None:
            return self._answer("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            return self._answer("InvalidSignatureMethod", "unsupported signature method", 400)
        try:
            stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return self._answer("InvalidTimeStamp.Format", "Specified time stamp is not valid.", 400)
        if abs(datetime.now(UTC) - stamp) > timedelta(minutes=15):
            return self._answer(
                "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", 400
            )
        expected = sign(request.method, params, secret)
        if not secrets.compare_digest(expected, params["Signature"]):
            return self._answer(
                "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", 400
            )
        if params["SignatureNonce"] in self.nonces:
            return self._answer("SignatureNonceUsed", "Specified signature nonce was used already.", 400)
        self.nonces.add(params["SignatureNonce"])
        if params["Action"] != "SendSms" or params["Version"] != "2017-05-25":
            return self._answer("InvalidAction.NotFound", "Specified api is not found.", 404)
        key = params.get("OutId", "")
        self.ledger.requests_by_key[key] += 1
        if self.ledger.planned_failures:
            code = self.ledger.planned_failures.popleft()
            return self._answer(code, "planned failure")
        phone = params["PhoneNumbers"]
        if not _PHONE.match(phone):
            return self._answer("isv.MOBILE_NUMBER_ILLEGAL", "invalid mobile number")
        try:
            template_params = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return self._answer("isv.INVALID_JSON_PARAM", "TemplateParam is not valid JSON")
        earlier = self.ledger.delivered_before(key) if key else None
        if earlier is not None:
            return JSONResponse(
                {
                    "RequestId": secrets.token_hex(8),
                    "Code": "OK",
                    "Message": "OK",
                    "BizId": earlier.message_id,
                }
            )
        if self.ledger.over_flow_control(phone):
            return self._answer("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控Permits:10")
        biz_id = f"{secrets.randbelow(10**12)}^0"
        self.ledger.record(DeliveredText(phone, params["TemplateCode"], template_params, key, biz_id))
        return JSONResponse(
            {"RequestId": secrets.token_hex(8), "Code": "OK", "Message": "OK", "BizId": biz_id}
        )
