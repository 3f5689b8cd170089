"""WeChat Pay API v3 adapter (JSAPI / mini-program payments).

Requests are signed with the merchant key (`WECHATPAY2-SHA256-RSA2048`); responses and
notifications are verified against the platform key named by `Wechatpay-Serial`, over
`timestamp\\nnonce\\nbody\\n`, within a timestamp window; notification resources are decrypted with
AEAD_AES_256_GCM and the APIv3 key.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from integrations.payments.interface import (
    BillKind,
    BillLine,
    ClientPayment,
    CloseOutcome,
    InvalidNotification,
    Notification,
    OrderRequest,
    ProviderError,
    RefundResult,
    RefundState,
    Reply,
    Trade,
    TradeStatus,
    yuan_to_fen,
)
from integrations.payments.keys import load_private_key, load_public_key, sign_sha256_rsa, verify_sha256_rsa

BEIJING = timezone(timedelta(hours=8))
SCHEMA = "WECHATPAY2-SHA256-RSA2048"
TRADE_STATES = {
    "SUCCESS": TradeStatus.SUCCESS,
    "REFUND": TradeStatus.SUCCESS,  # paid, then (partly) refunded: the payment itself happened
    "NOTPAY": TradeStatus.NOTPAY,
    "USERPAYING": TradeStatus.NOTPAY,
    "CLOSED": TradeStatus.CLOSED,
    "REVOKED": TradeStatus.CLOSED,
    "PAYERROR": TradeStatus.PAYERROR,
}
REFUND_STATES = {
    "SUCCESS": RefundState.SUCCESS,
    "PROCESSING": RefundState.PROCESSING,
    "ABNORMAL": RefundState.FAILED,
    "CLOSED": RefundState.FAILED,
}


@dataclass(frozen=True)
class WeChatPayConfig:
    mchid: str
    appid: str
    merchant_serial: str
    private_key_pem: str
    apiv3_key: str
    platform_public_keys: tuple[tuple[str, str], ...]  # (serial, PEM)
    base_url: str
    notify_url: str
    notification_window: timedelta
    min_age_before_close: timedelta
    timeout_seconds: float


def authorization(config: WeChatPayConfig, method: str, url_path: str, body: str) -> str:
    nonce = secrets.token_hex(16)
    timestamp = str(int(time.time()))
    message = f"{method}\n{url_path}\n{timestamp}\n{nonce}\n{body}\n"
    signature = sign_sha256_rsa(load_private_key(config.private_key_pem), message.encode())
    return (
        f'{SCHEMA} mchid="{config.mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{config.merchant_serial}"'
    )


def parse_wechat_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


class WeChatPay:
    name = "wechat_pay"

    def __init__(self, config: WeChatPayConfig) -> None:
        self.config = config
        self.min_age_before_close = config.min_age_before_close
        self.platform_keys = dict(config.platform_public_keys)

    # -- signatures

    def verify_signed(self, headers: dict[str, str], body: bytes) -> None:
        """Raises InvalidNotification unless `body` is signed by a known platform key, recently."""
        lower = {k.lower(): v for k, v in headers.items()}
        serial = lower.get("wechatpay-serial", "")
        signature = lower.get("wechatpay-signature", "")
        timestamp = lower.get("wechatpay-timestamp", "")
        nonce = lower.get("wechatpay-nonce", "")
        if not (serial and signature and timestamp and nonce):
            raise InvalidNotification("missing Wechatpay-* signature headers")
        key_pem = self.platform_keys.get(serial)
        if key_pem is None:
            raise InvalidNotification("unknown platform key serial")
        if (
            not timestamp.isdigit()
            or abs(time.time() - int(timestamp)) > self.config.notification_window.total_seconds()
        ):
            raise InvalidNotification("timestamp outside the allowed window")
        message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"
        if not verify_sha256_rsa(load_public_key(key_pem), message, signature):
            raise InvalidNotification("signature does not verify")

    def client_sign(self, *parts: str) -> str:
        message = "".join(f"{part}\n" for part in parts)
        return sign_sha256_rsa(load_private_key(self.config.private_key_pem), message.encode())

    # -- HTTP

    async def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> tuple[int, bytes]:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")) if payload is not None else ""
        url_path = path
        headers = {
            "Authorization": authorization(self.config, method, url_path, body),
            "Accept": "application/json",
            "User-Agent": "gualema/1",
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with httpx.AsyncClient(
                base_url=self.config.base_url, timeout=self.config.timeout_seconds
            ) as http:
                response = await http.request(method, url_path, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderError(f"WeChat Pay unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise ProviderError(f"WeChat Pay answered {response.status_code}")
        try:
            self.verify_signed(dict(response.headers), response.content)
        except InvalidNotification as exc:
            raise ProviderError(f"WeChat Pay response not verified: {exc}") from exc
        return response.status_code, response.content

    @staticmethod
    def _json(content: bytes) -> dict[str, Any]:
        try:
            value = json.loads(content or b"{}")
        except ValueError as exc:
            raise ProviderError("WeChat Pay answered something that is not JSON") from exc
        if not isinstance(value, dict):
            raise ProviderError("WeChat Pay answered an unexpected JSON value")
        return value

    # -- the provider interface

    async def create(self, order: OrderRequest) -> ClientPayment:
        if order.known_prepay_id:
            return self.request_payment(order.known_prepay_id)
        if not order.payer_openid:
            raise ProviderError("a WeChat mini-program payment needs the payer's openid")
        status, content = await self._call(
            "POST",
            "/v3/pay/transactions/jsapi",
            {
                "appid": self.config.appid,
                "mchid": self.config.mchid,
                "description": order.description,
                "out_trade_no": order.out_trade_no,
                "time_expire": order.expires_at.astimezone(BEIJING).isoformat(timespec="seconds"),
                "notify_url": self.config.notify_url,
                "amount": {"total": order.amount, "currency": "CNY"},
                "payer": {"openid": order.payer_openid},
            },
        )
        body = self._json(content)
        if status != 200 or "prepay_id" not in body:
            raise ProviderError(f"WeChat Pay refused the order: {body.get('code')} {body.get('message')}")
        return self.request_payment(str(body["prepay_id"]))

    def request_payment(self, prepay_id: str) -> ClientPayment:
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        params = {
            "appId": self.config.appid,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": self.client_sign(self.config.appid, timestamp, nonce, package),
        }
        return ClientPayment(request_payment=params, prepay_id=prepay_id)

    def _trade(self, body: dict[str, Any]) -> Trade:
        state = TRADE_STATES.get(str(body.get("trade_state")), TradeStatus.NOTPAY)
        amount = body.get("amount") or {}
        success_time = body.get("success_time")
        return Trade(
            out_trade_no=str(body.get("out_trade_no", "")),
            status=state,
            amount=int(amount.get("total", 0)),
            trade_no=str(body.get("transaction_id", "")),
            paid_at=parse_wechat_time(success_time) if success_time else None,
        )

    async def query(self, out_trade_no: str) -> Trade:
        status, content = await self._call(
            "GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={self.config.mchid}"
        )
        body = self._json(content)
        if status == 404:
            return Trade(out_trade_no=out_trade_no, status=TradeStatus.NOT_FOUND)
        if status != 200:
            raise ProviderError(f"WeChat Pay query failed: {body.get('code')}")
        return self._trade(body)

    async def close(self, out_trade_no: str) -> CloseOutcome:
        status, content = await self._call(
            "POST", f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close", {"mchid": self.config.mchid}
        )
        if status in (200, 204):
            return CloseOutcome.CLOSED
        code = self._json(content).get("code")
        if code == "ORDERPAID":
            return CloseOutcome.ALREADY_PAID
        if code in ("ORDER_NOT_EXIST", "ORDERNOTEXIST"):
            return CloseOutcome.CLOSED
        raise ProviderError(f"WeChat Pay close failed: {code}")

    def _refund(self, body: dict[str, Any]) -> RefundResult:
        amount = body.get("amount") or {}
        return RefundResult(
            out_refund_no=str(body.get("out_refund_no", "")),
            state=REFUND_STATES.get(
                str(body.get("status") or body.get("refund_status")), RefundState.PROCESSING
            ),
            amount=int(amount.get("refund", 0)),
            refund_no=str(body.get("refund_id", "")),
            out_trade_no=str(body.get("out_trade_no", "")),
        )

    async def refund(
        self, out_trade_no: str, out_refund_no: str, amount: int, total: int, reason: str
    ) -> RefundResult:
        status, content = await self._call(
            "POST",
            "/v3/refund/domestic/refunds",
            {
                "out_trade_no": out_trade_no,
                "out_refund_no": out_refund_no,
                "reason": reason[:80],
                "notify_url": self.config.notify_url,
                "amount": {"refund": amount, "total": total, "currency": "CNY"},
            },
        )
        body = self._json(content)
        if status != 200:
            if status == 400 and body.get("code") in ("INVALID_REQUEST", "NOT_ENOUGH"):
                return RefundResult(
                    out_refund_no=out_refund_no, state=RefundState.FAILED, out_trade_no=out_trade_no
                )
            raise ProviderError(f"WeChat Pay refund failed: {body.get('code')}")
        return self._refund(body)

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundResult:
        status, content = await self._call("GET", f"/v3/refund/domestic/refunds/{out_refund_no}")
        body = self._json(content)
        if status == 404:
            return RefundResult(
                out_refund_no=out_refund_no, state=RefundState.NOT_FOUND, out_trade_no=out_trade_no
            )
        if status != 200:
            raise ProviderError(f"WeChat Pay refund query failed: {body.get('code')}")
        return self._refund(body)

    def parse_notification(self, headers: dict[str, str], body: bytes) -> Notification:
        self.verify_signed(headers, body)
        try:
            envelope = json.loads(body)
            resource = envelope["resource"]
            if resource.get("algorithm") != "AEAD_AES_256_GCM":
                raise InvalidNotification("unsupported resource algorithm")
            key = self.config.apiv3_key.encode()
            plain = AESGCM(key).decrypt(
                resource["nonce"].encode(),
                base64.b64decode(resource["ciphertext"]),
                (resource.get("associated_data") or "").encode(),
            )
            content = json.loads(plain)
        except InvalidNotification:
            raise
        except Exception as exc:  # malformed JSON, bad base64, failed authentication tag
            raise InvalidNotification(f"resource cannot be decrypted: {type(exc).__name__}") from exc
        raw = {
            "headers": {k: v for k, v in headers.items() if k.lower().startswith("wechatpay-")},
            "envelope": envelope,
            "resource": content,
        }
        event_type = str(envelope.get("event_type", ""))
        if content.get("mchid", self.config.mchid) != self.config.mchid:
            raise InvalidNotification("notification for another merchant")
        if event_type.startswith("TRANSACTION."):
            if content.get("appid") != self.config.appid:
                raise InvalidNotification("notification for another app id")
            return Notification(raw=raw, trade=self._trade(content))
        if event_type.startswith("REFUND."):
            return Notification(raw=raw, refund=self._refund(content))
        raise InvalidNotification(f"unexpected event type {event_type!r}")

    def success_reply(self) -> Reply:
        return Reply(204)

    def failure_reply(self, message: str) -> Reply:
        body = json.dumps({"code": "FAIL", "message": message}, ensure_ascii=False).encode()
        return Reply(400, body, "application/json")

    async def bill(self, day: date) -> list[BillLine]:
        status, content = await self._call(
            "GET", f"/v3/bill/tradebill?bill_date={day.isoformat()}&bill_type=ALL"
        )
        body = self._json(content)
        if status != 200:
            raise ProviderError(f"WeChat Pay bill failed: {body.get('code')}")
        download = urlsplit(str(body["download_url"]))
        path = download.path + (f"?{download.query}" if download.query else "")
        # The download itself is signed like any request, but its body (a CSV file) is not.
        headers = {"Authorization": authorization(self.config, "GET", path, "")}
        try:
            async with httpx.AsyncClient(
                base_url=self.config.base_url, timeout=self.config.timeout_seconds
            ) as http:
                response = await http.get(path, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderError(f"WeChat Pay bill download failed: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise ProviderError(f"WeChat Pay bill download answered {response.status_code}")
        return parse_trade_bill(response.content.decode("utf-8-sig"))


def parse_trade_bill(text: str) -> list[BillLine]:
    """The CSV trade bill: a header row, rows whose fields start with a backtick, then totals."""
    lines = text.splitlines()
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    if not rows:
        return []
    header = rows[0]
    result: list[BillLine] = []
    for row in rows[1:]:
        if len(row) != len(header) or not row[0].startswith("`"):
            break  # the totals section starts
        record = {name: value.lstrip("`") for name, value in zip(header, row, strict=True)}
        status = record["交易状态"]
        if status == "SUCCESS":
            result.append(
                BillLine(
                    BillKind.PAYMENT,
                    record["商户订单号"],
                    yuan_to_fen(record["应结订单金额"]),
                    provider_ref=record["微信订单号"],
                )
            )
        elif status == "REFUND":
            result.append(
                BillLine(
                    BillKind.REFUND,
                    record["商户订单号"],
                    yuan_to_fen(record["退款金额"]),
                    out_refund_no=record["商户退款单号"],
                    provider_ref=record["微信退款单号"],
                )
            )
    return result
