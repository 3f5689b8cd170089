"""Which providers a deployment offers: the sandbox everywhere but production, the others once keyed."""

from __future__ import annotations

import pytest

from gualema.settings import Settings
from integrations.payments.registry import ProviderNotConfigured


def test_the_sandbox_is_the_default_and_off_in_production() -> None:
    development = Settings(env="development", _env_file=None)
    production = Settings(
        env="production", secret_key="a-real-secret-of-some-length-0123456789abcdef", _env_file=None
    )
    production_with_sandbox = Settings(
        env="production",
        secret_key="a-real-secret-of-some-length-0123456789abcdef",
        payment_sandbox_enabled=True,
        _env_file=None,
    )

    assert (development.payment_default_provider, development.payment_providers().configured()) == (
        "sandbox",
        ["sandbox"],
    )
    assert production.payment_providers().configured() == []
    assert production_with_sandbox.payment_providers().configured() == ["sandbox"]


def test_a_provider_is_offered_only_with_all_its_keys() -> None:
    half_keyed = Settings(
        env="development",
        wechat_pay_mchid="1900000001",
        wechat_pay_private_key="-----BEGIN PRIVATE KEY-----",
        alipay_app_id="2021000000000001",
        _env_file=None,
    )
    offered = half_keyed.payment_providers()

    assert offered.configured() == ["sandbox"]
    for provider in ("wechat_pay", "alipay"):
        with pytest.raises(ProviderNotConfigured, match=provider):
            offered.gateway(provider)


def test_notifications_go_to_the_notify_base_or_else_the_public_url() -> None:
    public = Settings(
        env="development",
        public_base_url="https://gl.example.cn/",
        wechat_pay_mchid="1900000001",
        wechat_pay_private_key="-----BEGIN PRIVATE KEY-----",
        wechat_pay_apiv3_key="0" * 32,
        _env_file=None,
    )
    behind = public.model_copy(update={"payment_notify_base_url": "https://notify.example.cn"})

    for settings, expected in (
        (public, "https://gl.example.cn/payments/notify/wechat"),
        (behind, "https://notify.example.cn/payments/notify/wechat"),
    ):
        wechat_pay = settings.payment_providers().wechat_pay
        assert wechat_pay is not None
        assert wechat_pay.notify_url == expected
