"""HTTP routes of the payments area: provider notifications and the sandbox pay page."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gualema.metrics import observe_payment_notification
from gualema.settings import Settings
from integrations.payments.interface import Reply
from integrations.payments.sandbox.page import pay_page
from models.payments import PaymentOrder, PaymentProvider
from resolvers.payments import configured_providers, handle_notification


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


async def sandbox_page(request: Request) -> Response:
    settings = _settings(request)
    number = request.path_params["order_id"]
    order = await PaymentOrder.get_or_none(out_trade_no=number, provider=PaymentProvider.SANDBOX)
    if PaymentProvider.SANDBOX not in configured_providers(settings) or order is None:
        return HTMLResponse("<h1>404</h1>", status_code=404)
    return HTMLResponse(pay_page(number, order.amount, order.status.value))


async def sandbox_settle(request: Request) -> Response:
    settings = _settings(request)
    number = request.path_params["order_id"]
    if PaymentProvider.SANDBOX not in configured_providers(settings):
        return HTMLResponse("<h1>404</h1>", status_code=404)
    try:
        await read_capped(request, settings.max_notification_bytes)  # the form's body is not used
    except BodyTooLarge:
        return _too_large(settings.max_notification_bytes)
    except ClientDisconnect:
        return Response(status_code=400)
    settled = (
        await settings.payment_providers()
        .sandbox_provider()
        .settle(number, paid=request.path_params["outcome"] == "pay")
    )
    if settled is None:
        return HTMLResponse("<h1>404</h1>", status_code=404)
    headers, body = settled
    # The sandbox "provider" notifies us through the same verify-then-apply path as the real ones.
    await handle_notification(settings, PaymentProvider.SANDBOX, headers, body)
    return RedirectResponse(f"/payments/sandbox/{number}", status_code=303)


def payment_routes() -> list[BaseRoute]:
    return [
        Route(
            "/payments/notify/wechat", _notification_endpoint(PaymentProvider.WECHAT_PAY), methods=["POST"]
        ),
        Route("/payments/notify/alipay", _notification_endpoint(PaymentProvider.ALIPAY), methods=["POST"]),
        Route("/payments/notify/sandbox", _notification_endpoint(PaymentProvider.SANDBOX), methods=["POST"]),
        Route("/payments/sandbox/{order_id}", sandbox_page, methods=["GET"]),
        Route("/payments/sandbox/{order_id}/{outcome:str}", sandbox_settle, methods=["POST"]),
    ]
