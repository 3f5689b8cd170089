"""A fake Alipay gateway on 127.0.0.1 for tests and offline demos.

It verifies every request's RSA2 signature with the app's public key, signs its responses with the
Alipay key (`{"<method>_response": {...}, "sign": ...}`), sends form-encoded RSA2-signed
notifications to the order's notify_url, and serves the zipped GBK CSV trade bill.
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from integrations.payments.alipay.signing import content_to_sign
from integrations.payments.keys import sign_sha256_rsa, verify_sha256_rsa

BEIJING = timezone(timedelta(hours=8))


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def fen(text: str) -> int:
    whole, _, fraction = text.partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])


@dataclass
class FakeTrade:
    out_trade_no: str
    amount: int
    notify_url: str
    trade_no: str
    status: str = "WAIT_BUYER_PAY"
    paid_at: datetime | None = None


@dataclass
class FakeAlipayRefund:
    out_request_no: str
    out_trade_no: str
    amount: int
    at: datetime


@dataclass
class FakeAlipay:
    app_id: str
    seller_id: str
    app_public_key: rsa.RSAPublicKey
    alipay_private_key: rsa.RSAPrivateKey
    base_url: str = ""
    trades: dict[str, FakeTrade] = field(default_factory=dict)
    refunds: dict[str, FakeAlipayRefund] = field(default_factory=dict)
    rejected_requests: list[str] = field(default_factory=list)
    refund_requests: int = 0

    def _answer(self, method: str, payload: dict[str, Any]) -> Response:
        content = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        signature = sign_sha256_rsa(self.alipay_private_key, content.encode())
        node = method.replace(".", "_") + "_response"
        body = f'{{"{node}":{content},"sign":"{signature}"}}'
        return Response(body.encode(), media_type="application/json;charset=utf-8")

    @staticmethod
    def _fail(sub_code: str, sub_msg: str) -> dict[str, Any]:
        return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}

    async def gateway(self, request: Request) -> Response:
        params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        params.update(request.query_params)
        method = params.get("method", "")
        signed = content_to_sign(params, drop_sign_type=False).encode()
        if params.get("app_id") != self.app_id or not verify_sha256_rsa(
            self.app_public_key, signed, params.get("sign", "")
        ):
            self.rejected_requests.append(method)
            return self._answer(
                method,
                {
                    "code": "40002",
                    "msg": "Invalid Arguments",
                    "sub_code": "isv.invalid-signature",
                    "sub_msg": "验签出错",
                },
            )
        biz = json.loads(params.get("biz_content", "{}"))
        if method == "alipay.trade.query":
            trade = self.trades.get(biz["out_trade_no"])
            if trade is None:
                return self._answer(method, self._fail("ACQ.TRADE_NOT_EXIST", "交易不存在"))
            answer = {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": trade.out_trade_no,
                "trade_no": trade.trade_no,
                "trade_status": trade.status,
                "total_amount": yuan(trade.amount),
            }
            if trade.paid_at:
                answer["send_pay_date"] = trade.paid_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
            return self._answer(method, answer)
        if method == "alipay.trade.close":
            trade = self.trades.get(biz["out_trade_no"])
            if trade is None:
                return self._answer(method, self._fail("ACQ.TRADE_NOT_EXIST", "交易不存在"))
            if trade.status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                return self._answer(method, self._fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"))
            trade.status = "TRADE_CLOSED"
            return self._answer(
                method, {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no}
            )
        if method == "alipay.trade.refund":
            return self._answer(method, self._refund(biz))
        if method == "alipay.trade.fastpay.refund.query":
            refund = self.refunds.get(biz["out_request_no"])
            answer = {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": biz["out_trade_no"],
                "out_request_no": biz["out_request_no"],
            }
            if refund is not None:
                answer.update(refund_status="REFUND_SUCCESS", refund_amount=yuan(refund.amount))
            return self._answer(method, answer)
        if method == "alipay.data.dataservice.bill.downloadurl.query":
            return self._answer(
                method,
                {
                    "code": "10000",
                    "msg": "Success",
                    "bill_download_url": f"{self.base_url}/bill?day={biz['bill_date']}",
                },
            )
        return self._answer(
            method, {"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method"}
        )

    def _refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        self.refund_requests += 1
        trade = self.trades.get(biz["out_trade_no"])
        if trade is None or trade.status not in ("TRADE_SUCCESS", "TRADE_CLOSED"):
            return self._fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        number = biz["out_request_no"]
        amount = fen(biz["refund_amount"])
        existing = self.refunds.get(number)
        if existing is None:
            refunded = sum(r.amount for r in self.refunds.values() if r.out_trade_no == trade.out_trade_no)
            if amount <= 0 or refunded + amount > trade.amount:
                return self._fail("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            self.refunds[number] = FakeAlipayRefund(number, trade.out_trade_no, amount, datetime.now(UTC))
            fund_change = "Y"
        else:
            fund_change = "N"  # the same out_request_no again: answered, never refunded twice
        refunded = sum(r.amount for r in self.refunds.values() if r.out_trade_no == trade.out_trade_no)
        if refunded == trade.amount:
            trade.status = "TRADE_CLOSED"
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "refund_fee": yuan(refunded),
            "fund_change": fund_change,
        }

    async def bill(self, request: Request) -> Response:
        day = date.fromisoformat(request.query_params["day"])
        header = (
            "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
            "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
            "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
        )
        lines = [
            "#支付宝业务明细查询",
            f"#账号：[{self.seller_id}]",
            f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]",
            "#-----------------------------------------业务明细列表----------------------------------------",
            header,
        ]
        for trade in self.trades.values():
            if trade.paid_at and trade.paid_at.astimezone(BEIJING).date() == day:
                stamp = trade.paid_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
                lines.append(
                    f"{trade.trade_no}\t,{trade.out_trade_no}\t,交易,挂号费,{stamp},{stamp},,,,,buyer,"
                    f"{yuan(trade.amount)},{yuan(trade.amount)},0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,0.00,0.00,"
                )
        for refund in self.refunds.values():
            if refund.at.astimezone(BEIJING).date() == day:
                trade = self.trades[refund.out_trade_no]
                stamp = refund.at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
                lines.append(
                    f"{trade.trade_no}\t,{trade.out_trade_no}\t,退款,挂号费,{stamp},{stamp},,,,,buyer,"
                    f"-{yuan(refund.amount)},-{yuan(refund.amount)},0.00,0.00,0.00,0.00,0.00,,0.00,0.00,"
                    f"{refund.out_request_no},0.00,0.00,"
                )
        lines.append(
            "#-----------------------------------------业务明细列表结束------------------------------------"
        )
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr(f"{self.seller_id}_{day:%Y%m%d}_业务明细.csv", "\r\n".join(lines).encode("gbk"))
            bundle.writestr(f"{self.seller_id}_{day:%Y%m%d}_业务明细(汇总).csv", "#汇总\r\n".encode("gbk"))
        return Response(archive.getvalue(), media_type="application/zip")

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/gateway.do", self.gateway, methods=["GET", "POST"]), Route("/bill", self.bill)]
        )

    # -- what the payer and Alipay do, driven by tests

    def open_order_string(self, order_string: str) -> FakeTrade:
        """The payer's Alipay app: verify the merchant's signed order string and create the trade."""
        params = dict(parse_qsl(order_string, keep_blank_values=True))
        signed = content_to_sign(params, drop_sign_type=False).encode()
        if params.get("app_id") != self.app_id or not verify_sha256_rsa(
            self.app_public_key, signed, params["sign"]
        ):
            raise ValueError("the order string is not signed by this app")
        biz = json.loads(params["biz_content"])
        number = biz["out_trade_no"]
        if number not in self.trades:
            self.trades[number] = FakeTrade(
                number, fen(biz["total_amount"]), params["notify_url"], f"2026{secrets.token_hex(12)}"
            )
        return self.trades[number]

    def pay(self, order_string: str) -> FakeTrade:
        trade = self.open_order_string(order_string)
        if trade.status == "WAIT_BUYER_PAY":
            trade.status = "TRADE_SUCCESS"
            trade.paid_at = datetime.now(UTC)
        return trade

    def notification(
        self, out_trade_no: str, *, key: rsa.RSAPrivateKey | None = None, **overrides: str
    ) -> dict[str, str]:
        trade = self.trades[out_trade_no]
        now = datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        form = {
            "notify_time": now,
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "app_id": self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": yuan(trade.amount),
            "receipt_amount": yuan(trade.amount),
            "seller_id": self.seller_id,
            "buyer_id": "2088102177846880",
            "subject": "挂号费",
            "gmt_create": now,
        }
        if trade.paid_at:
            form["gmt_payment"] = trade.paid_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        form.update(overrides)
        form["sign_type"] = "RSA2"
        form["sign"] = sign_sha256_rsa(
            key or self.alipay_private_key, content_to_sign(form, drop_sign_type=True).encode()
        )
        return form

    async def deliver(self, url: str, form: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.post(url, data=form)

    async def notify_paid(self, order_string: str) -> httpx.Response:
        trade = self.pay(order_string)
        return await self.deliver(trade.notify_url, self.notification(trade.out_trade_no))
