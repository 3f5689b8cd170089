"""The built-in sandbox provider: a local pay page with "pay" and "fail" buttons, its own ledger
(ledger.py) and a bill, so demos and tests need no outside service.

Its notifications go through the same verify-then-apply path as the real providers', signed with an
HMAC of the server secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError

from integrations.payments.interface import (
    BillKind,
    BillLine,
    ClientPayment,
    CloseOutcome,
    InvalidNotification,
    Notification,
    OrderRequest,
    RefundResult,
    RefundState,
    Reply,
    Trade,
    TradeStatus,
)
from integrations.payments.sandbox.ledger import (
    CLOSED,
    NOTPAY,
    PAYERROR,
    SUCCESS,
    SandboxRefund,
    SandboxTrade,
    move_trade,
)

SIGNATURE_HEADER = "x-sandbox-signature"


class Sandbox:
    name = "sandbox"
    min_age_before_close = timedelta(0)

    def __init__(self, secret: str, public_base_url: str, tz: ZoneInfo) -> None:
        self.secret = secret.encode()
        self.public_base_url = public_base_url.rstrip("/")
        self.tz = tz

    def pay_page_url(self, out_trade_no: str) -> str:
        return f"{self.public_base_url}/payments/sandbox/{out_trade_no}"

    async def create(self, order: OrderRequest) -> ClientPayment:
        # The same order again: the sandbox, like the real providers, is idempotent per number.
        with contextlib.suppress(IntegrityError):
            await SandboxTrade.create(
                out_trade_no=order.out_trade_no,
                amount=order.amount,
                status=NOTPAY,
                trade_no=f"SBX{secrets.token_hex(10).upper()}",
            )
        return ClientPayment(pay_page_url=self.pay_page_url(order.out_trade_no))

    @staticmethod
    def _trade(row: SandboxTrade) -> Trade:
        return Trade(
            out_trade_no=row.out_trade_no,
            status=TradeStatus(row.status),
            amount=row.amount,
            trade_no=row.trade_no,
            paid_at=row.paid_at,
        )

    async def query(self, out_trade_no: str) -> Trade:
        row = await SandboxTrade.get_or_none(out_trade_no=out_trade_no)
        if row is None:
            return Trade(out_trade_no=out_trade_no, status=TradeStatus.NOT_FOUND)
        return self._trade(row)

    async def close(self, out_trade_no: str) -> CloseOutcome:
        await move_trade(out_trade_no, CLOSED)
        row = await SandboxTrade.get_or_none(out_trade_no=out_trade_no)
        return CloseOutcome.ALREADY_PAID if row is not None and row.status == SUCCESS else CloseOutcome.CLOSED

    async def refund(
        self, out_trade_no: str, out_refund_no: str, amount: int, _total: int, _reason: str
    ) -> RefundResult:
        existing = await SandboxRefund.get_or_none(out_refund_no=out_refund_no)
        if existing is None:
            trade = await SandboxTrade.get_or_none(out_trade_no=out_trade_no)
            refunded = sum(r.amount for r in await SandboxRefund.filter(out_trade_no=out_trade_no))
            if trade is None or trade.status != SUCCESS or amount <= 0 or refunded + amount > trade.amount:
                return RefundResult(
                    out_refund_no=out_refund_no, state=RefundState.FAILED, out_trade_no=out_trade_no
                )
            try:
                existing = await SandboxRefund.create(
                    out_refund_no=out_refund_no,
                    out_trade_no=out_trade_no,
                    amount=amount,
                    refund_no=f"SBR{secrets.token_hex(10).upper()}",
                )
            except IntegrityError:
                existing = await SandboxRefund.get(out_refund_no=out_refund_no)
        return RefundResult(
            out_refund_no=out_refund_no,
            state=RefundState.SUCCESS,
            amount=existing.amount,
            refund_no=existing.refund_no,
            out_trade_no=existing.out_trade_no,
        )

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundResult:
        existing = await SandboxRefund.get_or_none(out_refund_no=out_refund_no)
        if existing is None:
            return RefundResult(
                out_refund_no=out_refund_no, state=RefundState.NOT_FOUND, out_trade_no=out_trade_no
            )
        return RefundResult(
            out_refund_no=out_refund_no,
            state=RefundState.SUCCESS,
            amount=existing.amount,
            refund_no=existing.refund_no,
            out_trade_no=out_trade_no,
        )

    # -- the pay page's buttons

    async def settle(self, out_trade_no: str, *, paid: bool) -> tuple[dict[str, str], bytes] | None:
        """The payer pressed "pay" or "fail": record it in the ledger and build the notification."""
        # Only an unpaid trade takes the button; a second press changes nothing and notifies again.
        await move_trade(out_trade_no, SUCCESS if paid else PAYERROR)
        row = await SandboxTrade.get_or_none(out_trade_no=out_trade_no)
        if row is None:
            return None
        body = json.dumps(
            {
                "out_trade_no": row.out_trade_no,
                "trade_no": row.trade_no,
                "status": row.status,
                "amount": row.amount,
                "paid_at": row.paid_at.isoformat() if row.paid_at else None,
            }
        ).encode()
        return {SIGNATURE_HEADER: self.sign(body)}, body

    def sign(self, body: bytes) -> str:
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    def parse_notification(self, headers: dict[str, str], body: bytes) -> Notification:
        lower = {k.lower(): v for k, v in headers.items()}
        if not hmac.compare_digest(lower.get(SIGNATURE_HEADER, ""), self.sign(body)):
            raise InvalidNotification("signature does not verify")
        content = json.loads(body)
        trade = Trade(
            out_trade_no=content["out_trade_no"],
            status=TradeStatus(content["status"]),
            amount=int(content["amount"]),
            trade_no=content["trade_no"],
            paid_at=datetime.fromisoformat(content["paid_at"]) if content.get("paid_at") else None,
        )
        return Notification(raw=content, trade=trade)

    def success_reply(self) -> Reply:
        return Reply(200, b'{"code":"SUCCESS"}', "application/json")

    def failure_reply(self, message: str) -> Reply:
        return Reply(400, json.dumps({"code": "FAIL", "message": message}).encode(), "application/json")

    async def bill(self, day: date) -> list[BillLine]:
        lines: list[BillLine] = []
        for trade in await SandboxTrade.filter(status=SUCCESS):
            if trade.paid_at is not None and trade.paid_at.astimezone(self.tz).date() == day:
                lines.append(
                    BillLine(BillKind.PAYMENT, trade.out_trade_no, trade.amount, provider_ref=trade.trade_no)
                )
        for refund in await SandboxRefund.all():
            if refund.created_at.astimezone(self.tz).date() == day:
                lines.append(
                    BillLine(
                        BillKind.REFUND,
                        refund.out_trade_no,
                        refund.amount,
                        out_refund_no=refund.out_refund_no,
                        provider_ref=refund.refund_no,
                    )
                )
        return lines
