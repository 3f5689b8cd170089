"""A fake WeChat Pay v3 server on 127.0.0.1 for tests and offline demos.

It speaks the real wire format: it verifies each request's `WECHATPAY2-SHA256-RSA2048` signature
with the merchant public key, signs its responses with the platform key, and POSTs notifications
(`Wechatpay-*` headers, AEAD_AES_256_GCM resource) to the order's `notify_url`. Its ledger produces
the CSV trade bill.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from integrations.payments.keys import sign_sha256_rsa, verify_sha256_rsa

BEIJING = timezone(timedelta(hours=8))
AUTH = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class FakeOrder:
    out_trade_no: str
    amount: int
    appid: str
    notify_url: str
    openid: str
    prepay_id: str
    created_at: datetime
    state: str = "NOTPAY"
    transaction_id: str = ""
    success_time: datetime | None = None


@dataclass
class FakeRefund:
    out_refund_no: str
    out_trade_no: str
    amount: int
    total: int
    notify_url: str
    refund_id: str
    status: str
    created_at: datetime


@dataclass
class FakeWeChatPay:
    mchid: str
    appid: str
    merchant_serial: str
    merchant_public_key: rsa.RSAPublicKey
    platform_serial: str
    platform_private_key: rsa.RSAPrivateKey
    apiv3_key: str
    min_age_before_close: timedelta = timedelta(minutes=5)
    base_url: str = ""
    # When False, refunds answer PROCESSING and finish only through `finish_refund`.
    refunds_succeed_at_once: bool = True
    # When True every API call is answered 503, as during an outage.
    down: bool = False
    orders: dict[str, FakeOrder] = field(default_factory=dict)
    refunds: dict[str, FakeRefund] = field(default_factory=dict)
    rejected_requests: list[str] = field(default_factory=list)
    early_close_attempts: int = 0
    refund_requests: int = 0

    # -- wire helpers

    def signed_headers(
        self,
        body: bytes,
        *,
        serial: str | None = None,
        timestamp: int | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> dict[str, str]:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        nonce = secrets.token_hex(16)
        message = stamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"
        return {
            "Wechatpay-Serial": serial or self.platform_serial,
            "Wechatpay-Signature": sign_sha256_rsa(key or self.platform_private_key, message),
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Request-ID": secrets.token_hex(8),
        }

    def _answer(self, status: int, payload: dict[str, Any] | None = None) -> Response:
        body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
        return Response(
            body,
            status_code=status,
            headers=self.signed_headers(body),
            media_type="application/json" if payload is not None else None,
        )

    def _error(self, status: int, code: str, message: str) -> Response:
        return self._answer(status, {"code": code, "message": message})

    def _authorised(self, request: Request, body: bytes) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("WECHATPAY2-SHA256-RSA2048 "):
            return False
        parts = dict(AUTH.findall(header))
        if parts.get("mchid") != self.mchid or parts.get("serial_no") != self.merchant_serial:
            return False
        if abs(time.time() - int(parts.get("timestamp", "0"))) > 300:
            return False
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        message = (
            f"{request.method}\n{path}\n{parts['timestamp']}\n{parts['nonce_str']}\n".encode() + body + b"\n"
        )
        return verify_sha256_rsa(self.merchant_public_key, message, parts.get("signature", ""))

    def _transaction(self, order: FakeOrder) -> dict[str, Any]:
        value: dict[str, Any] = {
            "appid": order.appid,
            "mchid": self.mchid,
            "out_trade_no": order.out_trade_no,
            "trade_state": order.state,
            "trade_state_desc": order.state,
            "trade_type": "JSAPI",
            "payer": {"openid": order.openid},
            "amount": {"total": order.amount, "payer_total": order.amount, "currency": "CNY"},
        }
        if order.transaction_id:
            value["transaction_id"] = order.transaction_id
        if order.success_time:
            value["success_time"] = order.success_time.astimezone(BEIJING).isoformat(timespec="seconds")
        return value

    def _refund_body(self, refund: FakeRefund) -> dict[str, Any]:
        return {
            "mchid": self.mchid,
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "out_trade_no": refund.out_trade_no,
            "status": refund.status,
            "refund_status": refund.status,
            "amount": {"refund": refund.amount, "total": refund.total, "currency": "CNY"},
            "create_time": refund.created_at.astimezone(BEIJING).isoformat(timespec="seconds"),
        }

    # -- HTTP endpoints

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        if self.down:
            return Response(b"", status_code=503)
        if not self._authorised(request, body):
            self.rejected_requests.append(request.url.path)
            return self._error(401, "SIGN_ERROR", "签名错误")
        path = request.url.path
        if request.method == "POST" and path == "/v3/pay/transactions/jsapi":
            return self._create(json.loads(body))
        match = re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)", path)
        if request.method == "GET" and match:
            order = self.orders.get(match.group(1))
            return (
                self._answer(200, self._transaction(order))
                if order
                else self._error(404, "ORDER_NOT_EXIST", "订单不存在")
            )
        match = re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)/close", path)
        if request.method == "POST" and match:
            return self._close(match.group(1))
        if request.method == "POST" and path == "/v3/refund/domestic/refunds":
            return self._refund(json.loads(body))
        match = re.fullmatch(r"/v3/refund/domestic/refunds/([^/]+)", path)
        if request.method == "GET" and match:
            refund = self.refunds.get(match.group(1))
            return (
                self._answer(200, self._refund_body(refund))
                if refund
                else self._error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
            )
        if request.method == "GET" and path == "/v3/bill/tradebill":
            day = request.query_params["bill_date"]
            return self._answer(
                200,
                {
                    "hash_type": "SHA1",
                    "hash_value": "",
                    "download_url": f"{self.base_url}/v3/billdownload/file?token={day}",
                },
            )
        if request.method == "GET" and path == "/v3/billdownload/file":
            return PlainTextResponse(self.trade_bill(date.fromisoformat(request.query_params["token"])))
        return self._error(404, "NOT_FOUND", "no such API")

    def _create(self, payload: dict[str, Any]) -> Response:
        if payload.get("mchid") != self.mchid or payload.get("appid") != self.appid:
            return self._error(400, "PARAM_ERROR", "mchid or appid mismatch")
        number = payload["out_trade_no"]
        existing = self.orders.get(number)
        if existing is not None:
            # The same out_trade_no with the same amount gets the same prepay_id (idempotent order).
            if existing.amount != payload["amount"]["total"]:
                return self._error(400, "INVALID_REQUEST", "out_trade_no reused with other parameters")
            if existing.state != "NOTPAY":
                return self._error(
                    400, "ORDERPAID" if existing.state == "SUCCESS" else "ORDER_CLOSED", existing.state
                )
            return self._answer(200, {"prepay_id": existing.prepay_id})
        order = FakeOrder(
            out_trade_no=number,
            amount=int(payload["amount"]["total"]),
            appid=payload["appid"],
            notify_url=payload["notify_url"],
            openid=payload["payer"]["openid"],
            prepay_id=f"wx{secrets.token_hex(14)}",
            created_at=datetime.now(UTC),
        )
        self.orders[number] = order
        return self._answer(200, {"prepay_id": order.prepay_id})

    def _close(self, number: str) -> Response:
        order = self.orders.get(number)
        if order is None:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        if order.state == "SUCCESS":
            return self._error(400, "ORDERPAID", "订单已支付")
        if datetime.now(UTC) - order.created_at < self.min_age_before_close:
            self.early_close_attempts += 1
            return self._error(400, "INVALID_REQUEST", "订单生成后需间隔一段时间才能关单")
        order.state = "CLOSED"
        return self._answer(204)

    def _refund(self, payload: dict[str, Any]) -> Response:
        self.refund_requests += 1
        number = payload["out_refund_no"]
        existing = self.refunds.get(number)
        if existing is not None:
            return self._answer(200, self._refund_body(existing))  # one refund per out_refund_no
        order = self.orders.get(payload["out_trade_no"])
        if order is None or order.state not in ("SUCCESS", "REFUND"):
            return self._error(400, "INVALID_REQUEST", "订单未支付")
        amount = int(payload["amount"]["refund"])
        refunded = sum(
            r.amount
            for r in self.refunds.values()
            if r.out_trade_no == order.out_trade_no and r.status != "CLOSED"
        )
        if amount <= 0 or refunded + amount > order.amount or payload["amount"]["total"] != order.amount:
            return self._error(400, "INVALID_REQUEST", "退款金额超过订单可退金额")
        refund = FakeRefund(
            out_refund_no=number,
            out_trade_no=order.out_trade_no,
            amount=amount,
            total=order.amount,
            notify_url=payload.get("notify_url") or order.notify_url,
            refund_id=f"50{secrets.token_hex(12)}",
            status="SUCCESS" if self.refunds_succeed_at_once else "PROCESSING",
            created_at=datetime.now(UTC),
        )
        self.refunds[number] = refund
        order.state = "REFUND"
        return self._answer(200, self._refund_body(refund))

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.endpoint, methods=["GET", "POST"])])

    # -- what the payer and the provider do, driven by tests

    def pay(self, out_trade_no: str) -> FakeOrder:
        order = self.orders[out_trade_no]
        if order.state == "NOTPAY":
            order.state = "SUCCESS"
            order.transaction_id = f"42{secrets.token_hex(13)}"
            order.success_time = datetime.now(UTC)
        return order

    def encrypt_resource(
        self, content: dict[str, Any], original_type: str, *, apiv3_key: str | None = None
    ) -> dict[str, str]:
        nonce = secrets.token_hex(6)
        associated = original_type
        cipher = AESGCM((apiv3_key or self.apiv3_key).encode()).encrypt(
            nonce.encode(), json.dumps(content, ensure_ascii=False).encode(), associated.encode()
        )
        return {
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(cipher).decode(),
            "associated_data": associated,
            "nonce": nonce,
            "original_type": original_type,
        }

    def payment_notification(self, out_trade_no: str, **overrides: Any) -> bytes:
        content = self._transaction(self.orders[out_trade_no])
        content.update(overrides)
        envelope = {
            "id": secrets.token_hex(16),
            "create_time": datetime.now(BEIJING).isoformat(timespec="seconds"),
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": self.encrypt_resource(content, "transaction"),
        }
        return json.dumps(envelope, ensure_ascii=False).encode()

    def refund_notification(self, out_refund_no: str) -> bytes:
        refund = self.refunds[out_refund_no]
        content = self._refund_body(refund)
        content["refund_status"] = refund.status
        envelope = {
            "id": secrets.token_hex(16),
            "create_time": datetime.now(BEIJING).isoformat(timespec="seconds"),
            "resource_type": "encrypt-resource",
            "event_type": f"REFUND.{refund.status}",
            "summary": "退款成功",
            "resource": self.encrypt_resource(content, "refund"),
        }
        return json.dumps(envelope, ensure_ascii=False).encode()

    async def deliver(self, url: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", **(headers or self.signed_headers(body))},
            )

    async def notify_paid(self, out_trade_no: str) -> httpx.Response:
        order = self.pay(out_trade_no)
        return await self.deliver(order.notify_url, self.payment_notification(out_trade_no))

    async def finish_refund(self, out_refund_no: str) -> httpx.Response:
        refund = self.refunds[out_refund_no]
        refund.status = "SUCCESS"
        return await self.deliver(refund.notify_url, self.refund_notification(out_refund_no))

    def trade_bill(self, day: date) -> str:
        header = [
            "交易时间",
            "公众账号ID",
            "商户号",
            "特约商户号",
            "设备号",
            "微信订单号",
            "商户订单号",
            "用户标识",
            "交易类型",
            "交易状态",
            "付款银行",
            "货币种类",
            "应结订单金额",
            "代金券金额",
            "微信退款单号",
            "商户退款单号",
            "退款金额",
            "充值券退款金额",
            "退款类型",
            "退款状态",
            "商品名称",
            "商户数据包",
            "手续费",
            "费率",
            "订单金额",
            "申请退款金额",
            "费率备注",
        ]
        rows: list[list[str]] = []

        def yuan(fen: int) -> str:
            return f"{fen / 100:.2f}"

        for order in self.orders.values():
            if order.success_time and order.success_time.astimezone(BEIJING).date() == day:
                rows.append(
                    [
                        order.success_time.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                        self.appid,
                        self.mchid,
                        "0",
                        "",
                        order.transaction_id,
                        order.out_trade_no,
                        order.openid,
                        "JSAPI",
                        "SUCCESS",
                        "OTHERS",
                        "CNY",
                        yuan(order.amount),
                        "0.00",
                        "0",
                        "0",
                        "0.00",
                        "0.00",
                        "",
                        "",
                        "挂号费",
                        "",
                        "0.00",
                        "0.60%",
                        yuan(order.amount),
                        "0.00",
                        "",
                    ]
                )
        for refund in self.refunds.values():
            order = self.orders[refund.out_trade_no]
            if refund.status == "SUCCESS" and refund.created_at.astimezone(BEIJING).date() == day:
                rows.append(
                    [
                        refund.created_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                        self.appid,
                        self.mchid,
                        "0",
                        "",
                        order.transaction_id,
                        order.out_trade_no,
                        order.openid,
                        "JSAPI",
                        "REFUND",
                        "OTHERS",
                        "CNY",
                        "0.00",
                        "0.00",
                        refund.refund_id,
                        refund.out_refund_no,
                        yuan(refund.amount),
                        "0.00",
                        "ORIGINAL",
                        "SUCCESS",
                        "挂号费",
                        "",
                        "0.00",
                        "0.60%",
                        yuan(order.amount),
                        yuan(refund.amount),
                        "",
                    ]
                )
        lines = [",".join(header)] + [",".join(f"`{value}" for value in row) for row in rows]
        lines.append(
            "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
        )
        lines.append(f"`{len(rows)},`0.00,`0.00,`0.00,`0.00,`0.00,`0.00")
        return "\n".join(lines) + "\n"
