"""The sandbox's pay page: what a payer sees at /payments/sandbox/{number} (the route is in gualema/)."""

from __future__ import annotations

import html

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>沙箱支付</title></head>
<body style="font-family: sans-serif; max-width: 28rem; margin: 2rem auto">
<h1>沙箱支付 Sandbox payment</h1>
<p>订单 Order <code>{number}</code></p>
<p>金额 Amount <strong>¥{amount}</strong></p>
<p>状态 Status <strong id="status">{status}</strong></p>
<form method="post" action="/payments/sandbox/{number}/pay">
<button id="pay" type="submit">支付 Pay</button></form>
<form method="post" action="/payments/sandbox/{number}/fail">
<button id="fail" type="submit">失败 Fail</button></form>
</body></html>
"""


def pay_page(number: str, amount_fen: int, status: str) -> str:
    amount = f"{amount_fen // 100}.{amount_fen % 100:02d}"
    return PAGE.format(number=html.escape(number), amount=amount, status=html.escape(status))
