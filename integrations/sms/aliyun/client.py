"""Aliyun SMS (dysmsapi 2017-05-25) SendSms over the signed RPC protocol.

Aliyun has no idempotency key: our key travels as `OutId` (echoed in delivery receipts) and the
dispatcher's lease keeps two processes from sending one message at once
(docs/decisions/071-sms-providers.md).
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

import httpx

from integrations.sms.aliyun.signature import sign
from integrations.sms.interface import OutgoingSms, SmsError, SmsReceipt

API_VERSION = "2017-05-25"
# Answers that a later attempt may turn into a delivery; everything else is final.
RETRYABLE_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",  # the per-number flow control (1/min, 5/h, 10/day by default)
        "isp.SYSTEM_ERROR",
        "Throttling.User",
        "ServiceUnavailable",
        "InternalError",
        "SignatureNonceUsed",  # our nonce collided; a new attempt draws a new one
    }
)


class AliyunSmsProvider:
    name = "aliyun"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        region: str,
        template_codes: dict[str, str],
        timeout: float,
    ) -> None:
        self.endpoint = endpoint
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.region = region
        self.template_codes = template_codes
        self.http = httpx.AsyncClient(timeout=timeout)

    def signed_params(self, sms: OutgoingSms, *, now: datetime | None = None) -> dict[str, str]:
        template_code = self.template_codes.get(sms.event)
        if not template_code:
            raise SmsError(
                "TemplateNotConfigured", f"no Aliyun template code for {sms.event}", retryable=False
            )
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": sms.idempotency_key,
            "PhoneNumbers": sms.phone,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": secrets.token_hex(16),
            "SignatureVersion": "1.0",
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(sms.params, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        params["Signature"] = sign("POST", params, self.access_key_secret)
        return params

    async def send(self, sms: OutgoingSms) -> SmsReceipt:
        params = self.signed_params(sms)
        try:
            # POST, not GET: the number and the code stay out of URLs, which proxies and httpx log.
            response = await self.http.post(self.endpoint, data=params)
        except httpx.HTTPError as exc:
            # A timeout may have delivered: the retry carries the same OutId.
            raise SmsError("Transport", type(exc).__name__, retryable=True) from None
        try:
            body = response.json()
        except ValueError:
            raise SmsError(
                f"HTTP{response.status_code}", "not JSON", retryable=response.status_code >= 500
            ) from None
        code = str(body.get("Code", ""))
        if response.status_code == 200 and code == "OK":
            return SmsReceipt(
                provider_message_id=str(body.get("BizId", "")), extra={"RequestId": body.get("RequestId", "")}
            )
        retryable = code in RETRYABLE_CODES or response.status_code >= 500
        raise SmsError(
            code or f"HTTP{response.status_code}", str(body.get("Message", "")), retryable=retryable
        )

    async def aclose(self) -> None:
        await self.http.aclose()
