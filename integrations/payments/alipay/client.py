"""Alipay adapter: the signed app-payment order string, trade query/close/refund over the gateway,
RSA2-verified asynchronous notifications answered with exactly `success`."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from integrations.payments.alipay.signing import content_to_sign, response_content
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
    fen_to_yuan,
    yuan_to_fen,
)
from integrations.payments.keys import load_private_key, load_public_key, sign_sha256_rsa, verify_sha256_rsa

BEIJING = timezone(timedelta(hours=8))
TRADE_STATES = {
    "TRADE_SUCCESS": TradeStatus.SUCCESS,
    "TRADE_FINISHED": TradeStatus.SUCCESS,
    "WAIT_BUYER_PAY": TradeStatus.NOTPAY,
    "TRADE_CLOSED": TradeStatus.CLOSED,
}


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    seller_id: str
    private_key_pem: str
    alipay_public_key_pem: str
    gateway_url: str
    notify_url: str
    timeout_seconds: float


def beijing_time(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


class Alipay:
    name = "alipay"
    min_age_before_close = timedelta(0)

    def __init__(self, config: AlipayConfig) -> None:
        self.config = config

    def signed_params(self, method: str, biz: dict[str, Any], *, notify: bool = False) -> dict[str, str]:
        params = {
            "app_id": self.config.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": beijing_time(datetime.now(BEIJING)),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        if notify:
            params["notify_url"] = self.config.notify_url
        key = load_private_key(self.config.private_key_pem)
        params["sign"] = sign_sha256_rsa(key, content_to_sign(params, drop_sign_type=False).encode())
        return params

    async def _call(self, method: str, biz: dict[str, Any]) -> dict[str, Any]:
        params = self.signed_params(method, biz)
        try:
            async with httpx.AsyncClient(timeout=self.config.timeout_seconds) as http:
                response = await http.post(self.config.gateway_url, data=params)
        except httpx.HTTPError as exc:
            raise ProviderError(f"Alipay unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise ProviderError(f"Alipay answered HTTP {response.status_code}")
        raw = response.text
        node = method.replace(".", "_") + "_response"
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise ProviderError("Alipay answered something that is not JSON") from exc
        signed = response_content(raw, node)
        signature = document.get("sign", "")
        key = load_public_key(self.config.alipay_public_key_pem)
        if signed is None or not verify_sha256_rsa(key, signed.encode(), signature):
            raise ProviderError("Alipay response signature does not verify")
        body: dict[str, Any] = document[node]
        return body

    # -- the provider interface

    async def create(self, order: OrderRequest) -> ClientPayment:
        # Alipay creates the trade when the payer opens this string: nothing to call here.
        params = self.signed_params(
            "alipay.trade.app.pay",
            {
                "out_trade_no": order.out_trade_no,
                "total_amount": fen_to_yuan(order.amount),
                "subject": order.description,
                "product_code": "QUICK_MSECURITY_PAY",
                "time_expire": beijing_time(order.expires_at),
            },
            notify=True,
        )
        return ClientPayment(order_string=urlencode(params))

    async def query(self, out_trade_no: str) -> Trade:
        body = await self._call("alipay.trade.query", {"out_trade_no": out_trade_no})
        if body.get("code") != "10000":
            if body.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return Trade(out_trade_no=out_trade_no, status=TradeStatus.NOT_FOUND)
            raise ProviderError(f"Alipay query failed: {body.get('sub_code')}")
        paid = body.get("send_pay_date")
        return Trade(
            out_trade_no=out_trade_no,
            status=TRADE_STATES.get(str(body.get("trade_status")), TradeStatus.NOTPAY),
            amount=yuan_to_fen(str(body.get("total_amount", "0"))),
            trade_no=str(body.get("trade_no", "")),
            paid_at=datetime.strptime(paid, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING) if paid else None,
        )

    async def close(self, out_trade_no: str) -> CloseOutcome:
        body = await self._call("alipay.trade.close", {"out_trade_no": out_trade_no})
        if body.get("code") == "10000" or body.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            # No trade yet means the payer never opened the order string; its time_expire (the
            # hold's end, which has passed when we close) keeps it from being paid later.
            return CloseOutcome.CLOSED
        if body.get("sub_code") == "ACQ.TRADE_STATUS_ERROR":
            return CloseOutcome.ALREADY_PAID
        raise ProviderError(f"Alipay close failed: {body.get('sub_code')}")

    async def refund(
        self, out_trade_no: str, out_refund_no: str, amount: int, _total: int, reason: str
    ) -> RefundResult:
        body = await self._call(
            "alipay.trade.refund",
            {
                "out_trade_no": out_trade_no,
                "refund_amount": fen_to_yuan(amount),
                "out_request_no": out_refund_no,
                "refund_reason": reason[:80],
            },
        )
        if body.get("code") == "10000":
            return RefundResult(
                out_refund_no=out_refund_no,
                state=RefundState.SUCCESS,
                amount=amount,
                refund_no=str(body.get("trade_no", "")),
                out_trade_no=out_trade_no,
            )
        if str(body.get("code")) == "40004":
            return RefundResult(
                out_refund_no=out_refund_no, state=RefundState.FAILED, out_trade_no=out_trade_no
            )
        raise ProviderError(f"Alipay refund failed: {body.get('sub_code')}")

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundResult:
        body = await self._call(
            "alipay.trade.fastpay.refund.query",
            {"out_trade_no": out_trade_no, "out_request_no": out_refund_no},
        )
        if body.get("code") != "10000":
            raise ProviderError(f"Alipay refund query failed: {body.get('sub_code')}")
        if body.get("refund_status") == "REFUND_SUCCESS":
            return RefundResult(
                out_refund_no=out_refund_no,
                state=RefundState.SUCCESS,
                amount=yuan_to_fen(str(body.get("refund_amount", "0"))),
                out_trade_no=out_trade_no,
            )
        # Alipay answers "no refund_status" both for an unknown number and an unsettled refund.
        return RefundResult(
            out_refund_no=out_refund_no, state=RefundState.NOT_FOUND, out_trade_no=out_trade_no
        )

    def parse_notification(self, _headers: dict[str, str], body: bytes) -> Notification:
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidNotification("not a form-encoded notification") from exc
        if params.get("sign_type") != "RSA2":
            raise InvalidNotification("sign_type must be RSA2")
        key = load_public_key(self.config.alipay_public_key_pem)
        if not verify_sha256_rsa(
            key, content_to_sign(params, drop_sign_type=True).encode(), params.get("sign", "")
        ):
            raise InvalidNotification("signature does not verify")
        if params.get("app_id") != self.config.app_id:
            raise InvalidNotification("notification for another app id")
        if params.get("seller_id") != self.config.seller_id:
            raise InvalidNotification("notification for another seller")
        raw: dict[str, Any] = {"form": params}
        try:
            if params.get("out_biz_no") and params.get("refund_fee"):
                refund = RefundResult(
                    out_refund_no=params["out_biz_no"],
                    state=RefundState.SUCCESS,
                    amount=yuan_to_fen(params["refund_fee"]),
                    refund_no=params.get("trade_no", ""),
                    out_trade_no=params["out_trade_no"],
                )
                return Notification(raw=raw, refund=refund)
            paid = params.get("gmt_payment")
            trade = Trade(
                out_trade_no=params["out_trade_no"],
                status=TRADE_STATES.get(params.get("trade_status", ""), TradeStatus.NOTPAY),
                amount=yuan_to_fen(params["total_amount"]),
                trade_no=params.get("trade_no", ""),
                paid_at=datetime.strptime(paid, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
                if paid
                else None,
            )
        except (KeyError, ValueError) as exc:
            raise InvalidNotification(f"notification lacks a field: {exc}") from exc
        return Notification(raw=raw, trade=trade)

    def success_reply(self) -> Reply:
        return Reply(200, b"success", "text/plain")

    def failure_reply(self, _message: str) -> Reply:
        return Reply(400, b"fail", "text/plain")

    async def bill(self, day: date) -> list[BillLine]:
        body = await self._call(
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "trade", "bill_date": day.isoformat()},
        )
        if body.get("code") != "10000":
            raise ProviderError(f"Alipay bill failed: {body.get('sub_code')}")
        try:
            async with httpx.AsyncClient(timeout=self.config.timeout_seconds) as http:
                response = await http.get(str(body["bill_download_url"]))
        except httpx.HTTPError as exc:
            raise ProviderError(f"Alipay bill download failed: {type(exc).__name__}") from exc
        return parse_trade_bill(response.content)


def parse_trade_bill(archive: bytes) -> list[BillLine]:
    """A zip holding GBK CSV files; the detail file has `#` comment lines around a header and rows."""
    result: list[BillLine] = []
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        for name in bundle.namelist():
            if "汇总" in name:
                continue  # the summary file
            text = bundle.read(name).decode("gbk")
            rows = [row for row in csv.reader(io.StringIO(text)) if row and not row[0].startswith("#")]
            if not rows:
                continue
            header = [cell.strip() for cell in rows[0]]
            for row in rows[1:]:
                if len(row) != len(header):
                    continue
                record = {k: v.strip() for k, v in zip(header, row, strict=True)}
                if record["业务类型"] == "交易":
                    result.append(
                        BillLine(
                            BillKind.PAYMENT,
                            record["商户订单号"],
                            yuan_to_fen(record["订单金额（元）"]),
                            provider_ref=record["支付宝交易号"],
                        )
                    )
                elif record["业务类型"] == "退款":
                    result.append(
                        BillLine(
                            BillKind.REFUND,
                            record["商户订单号"],
                            -yuan_to_fen(record["订单金额（元）"]),
                            out_refund_no=record["退款批次号/请求号"],
                            provider_ref=record["支付宝交易号"],
                        )
                    )
    return result
