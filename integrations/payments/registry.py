"""Builds the adapter for a provider from settings; a provider without its keys is unavailable."""

from __future__ import annotations

from datetime import timedelta

from gualema.settings import Settings
from integrations.payments.alipay.client import Alipay, AlipayConfig
from integrations.payments.interface import PaymentGateway
from integrations.payments.sandbox import Sandbox
from integrations.payments.wechat.client import WeChatPay, WeChatPayConfig

SANDBOX = "sandbox"
WECHAT_PAY = "wechat_pay"
ALIPAY = "alipay"


class ProviderNotConfigured(Exception):
    pass


def notify_url(settings: Settings, provider: str) -> str:
    short = {WECHAT_PAY: "wechat", ALIPAY: "alipay", SANDBOX: "sandbox"}[provider]
    base = settings.payment_notify_base_url or settings.public_base_url
    return f"{base.rstrip('/')}/payments/notify/{short}"


def configured_providers(settings: Settings) -> list[str]:
    names = [SANDBOX] if settings.payment_sandbox_on else []
    if settings.wechat_pay_mchid and settings.wechat_pay_private_key and settings.wechat_pay_apiv3_key:
        names.append(WECHAT_PAY)
    if settings.alipay_app_id and settings.alipay_private_key and settings.alipay_public_key:
        names.append(ALIPAY)
    return names


def gateway_for(settings: Settings, provider: str) -> PaymentGateway:
    if provider not in configured_providers(settings):
        raise ProviderNotConfigured(provider)
    if provider == SANDBOX:
        return Sandbox(settings.secret_key.get_secret_value(), settings.public_base_url, settings.tz)
    if provider == WECHAT_PAY:
        if settings.wechat_pay_private_key is None or settings.wechat_pay_apiv3_key is None:
            raise ProviderNotConfigured(provider)
        return WeChatPay(
            WeChatPayConfig(
                mchid=settings.wechat_pay_mchid,
                appid=settings.wechat_pay_appid,
                merchant_serial=settings.wechat_pay_merchant_serial,
                private_key_pem=settings.wechat_pay_private_key.get_secret_value(),
                apiv3_key=settings.wechat_pay_apiv3_key.get_secret_value(),
                platform_public_keys=tuple(sorted(settings.wechat_pay_platform_public_keys.items())),
                base_url=settings.wechat_pay_base_url,
                notify_url=notify_url(settings, WECHAT_PAY),
                notification_window=timedelta(seconds=settings.payment_notification_window_seconds),
                min_age_before_close=timedelta(seconds=settings.wechat_pay_min_close_seconds),
                timeout_seconds=settings.payment_http_timeout_seconds,
            )
        )
    if settings.alipay_private_key is None:
        raise ProviderNotConfigured(provider)
    return Alipay(
        AlipayConfig(
            app_id=settings.alipay_app_id,
            seller_id=settings.alipay_seller_id,
            private_key_pem=settings.alipay_private_key.get_secret_value(),
            alipay_public_key_pem=settings.alipay_public_key,
            gateway_url=settings.alipay_gateway_url,
            notify_url=notify_url(settings, ALIPAY),
            timeout_seconds=settings.payment_http_timeout_seconds,
        )
    )
