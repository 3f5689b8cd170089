"""HTTP routes of the payments area: provider notifications and the sandbox pay page."""

from __future__ import annotations

import html

from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gualema.metrics import observe_payment_notification
from gualema.settings import Settings
from integrations.payments.interface import Reply
from integrations.payments.registry import SANDBOX, configured_providers
from integrations.payments.sandbox import Sandbox
from models.payments import PaymentOrder, PaymentProvider
from resolvers.payments import handle_notification

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


def _response(reply: Reply) -> Response:
    return Response(
        reply.body, status_code=reply.status_code, media_type=reply.media_type, headers=reply.headers
    )


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


class BodyTooLarge(Exception):
    pass


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, read chunk by chunk; BodyTooLarge once `limit` is passed (or declared)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge()
    return bytes(body)


def _too_large(limit: int) -> Response:
    return Response(f"the body exceeds {limit} bytes", status_code=413, media_type="text/plain")


def _notification_endpoint(provider: PaymentProvider):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        limit = _settings(request).max_notification_bytes
        try:
            body = await read_capped(request, limit)
        except BodyTooLarge:
            return _too_large(limit)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is listening; no traceback
        reply = await handle_notification(_settings(request), provider, dict(request.headers), body)
        response = _response(reply)
        observe_payment_notification(provider.value, response.status_code)
        return response

    return endpoint


def _sandbox(settings: Settings) -> Sandbox:
    return Sandbox(settings.secret_key.get_secret_value(), settings.public_base_url, settings.tz)


async def sandbox_page(request: Request) -> Response:
    settings = _settings(request)
    number = request.path_params["order_id"]
    order = await PaymentOrder.get_or_none(out_trade_no=number, provider=PaymentProvider.SANDBOX)
    if SANDBOX not in configured_providers(settings) or order is None:
        return HTMLResponse("<h1>404</h1>", status_code=404)
    amount = f"{order.amount // 100}.{order.amount % 100:02d}"
    page = PAGE.format(number=html.escape(number), amount=amount, status=html.escape(order.status.value))
    return HTMLResponse(page)


async def sandbox_settle(request: Request) -> Response:
    settings = _settings(request)
    number = request.path_params["order_id"]
    if SANDBOX not in configured_providers(settings):
        return HTMLResponse("<h1>404</h1>", status_code=404)
    try:
        await read_capped(request, settings.max_notification_bytes)  # the form's body is not used
    except BodyTooLarge:
        return _too_large(settings.max_notification_bytes)
    except ClientDisconnect:
        return Response(status_code=400)
    settled = await _sandbox(settings).settle(number, paid=request.path_params["outcome"] == "pay")
    if settled is None:
        return HTMLResponse("<h1>404</h1>", status_code=404)
    headers, body = settled
    # The sandbox "provider" notifies us through the same verify-then-apply path as the real ones.
    await handle_notification(settings, PaymentProvider.SANDBOX, headers, body)
    return RedirectResponse(f"/payments/sandbox/{number}", status_code=303)


def payment_routes(settings: Settings) -> list[BaseRoute]:
    return [
        Route(
            "/payments/notify/wechat", _notification_endpoint(PaymentProvider.WECHAT_PAY), methods=["POST"]
        ),
        Route("/payments/notify/alipay", _notification_endpoint(PaymentProvider.ALIPAY), methods=["POST"]),
        Route("/payments/notify/sandbox", _notification_endpoint(PaymentProvider.SANDBOX), methods=["POST"]),
        Route("/payments/sandbox/{order_id}", sandbox_page, methods=["GET"]),
        Route("/payments/sandbox/{order_id}/{outcome:str}", sandbox_settle, methods=["POST"]),
    ]
