"""Tencent Cloud SMS (sms 2021-01-11) SendSms, signed with TC3-HMAC-SHA256.

Our idempotency key travels as `SessionContext` (echoed back and in receipts); Tencent does not
deduplicate on it, so exactly-once rests on the dispatcher's lease (docs/decisions/071-sms-providers.md).
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import httpx

from integrations.sms.interface import OutgoingSms, SmsError, SmsReceipt
from integrations.sms.tencent.signature import authorization

API_VERSION = "2021-01-11"
SERVICE = "sms"
CONTENT_TYPE = "application/json; charset=utf-8"


def is_retryable(code: str) -> bool:
    # LimitExceeded.PhoneNumber*Limit: the per-number frequency limits; they lapse with time.
    return code.startswith(("LimitExceeded.", "InternalError", "RequestLimitExceeded")) or code == "Transport"


class TencentSmsProvider:
    name = "tencent"

    def __init__(
        self,
        *,
        endpoint: str,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        region: str,
        template_ids: dict[str, str],
        timeout: float,
    ) -> None:
        self.endpoint = endpoint
        self.host = urlsplit(endpoint).netloc
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.region = region
        self.template_ids = template_ids
        self.http = httpx.AsyncClient(timeout=timeout)

    def request(self, sms: OutgoingSms, *, timestamp: int | None = None) -> tuple[dict[str, str], bytes]:
        template_id = self.template_ids.get(sms.event)
        if not template_id:
            raise SmsError(
                "TemplateNotConfigured", f"no Tencent template id for {sms.event}", retryable=False
            )
        body = json.dumps(
            {
                "PhoneNumberSet": [f"+86{sms.phone}"],
                "SmsSdkAppId": self.sdk_app_id,
                "SignName": self.sign_name,
                "TemplateId": template_id,
                "TemplateParamSet": [sms.params[name] for name in sms.variables],
                "SessionContext": sms.idempotency_key,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        stamp = timestamp if timestamp is not None else int(time.time())
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Host": self.host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": API_VERSION,
            "X-TC-Timestamp": str(stamp),
            "X-TC-Region": self.region,
            "Authorization": authorization(
                secret_id=self.secret_id,
                secret_key=self.secret_key,
                timestamp=stamp,
                service=SERVICE,
                method="POST",
                content_type=CONTENT_TYPE,
                host=self.host,
                body=body,
            ),
        }
        return headers, body

    async def send(self, sms: OutgoingSms) -> SmsReceipt:
        headers, body = self.request(sms)
        try:
            response = await self.http.post(self.endpoint, content=body, headers=headers)
            answer = response.json()["Response"]
        except httpx.HTTPError as exc:
            raise SmsError("Transport", type(exc).__name__, retryable=True) from None
        except (ValueError, KeyError, TypeError):
            raise SmsError("BadResponse", f"HTTP {response.status_code}", retryable=True) from None
        error = answer.get("Error")
        if error:
            code = str(error.get("Code", ""))
            raise SmsError(code, str(error.get("Message", "")), retryable=is_retryable(code))
        statuses = answer.get("SendStatusSet") or []
        if not statuses:
            raise SmsError("BadResponse", "no SendStatusSet", retryable=True)
        status = statuses[0]
        code = str(status.get("Code", ""))
        if code != "Ok":
            raise SmsError(code, str(status.get("Message", "")), retryable=is_retryable(code))
        return SmsReceipt(provider_message_id=str(status.get("SerialNo", "")))

    async def aclose(self) -> None:
        await self.http.aclose()
