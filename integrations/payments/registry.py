"""The providers a deployment offers, each built from its own small config; a provider without its
keys is unavailable. The configs come from the edge (`gualema.settings.Settings.payment_providers`):
this package never reads settings (docs/decisions/132)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from integrations.payments.alipay.client import Alipay, AlipayConfig
from integrations.payments.interface import PaymentGateway
from integrations.payments.sandbox import Sandbox
from integrations.payments.wechat.client import WeChatPay, WeChatPayConfig

SANDBOX = "sandbox"
WECHAT_PAY = "wechat_pay"
ALIPAY = "alipay"
NOTIFY_PATHS = {WECHAT_PAY: "wechat", ALIPAY: "alipay", SANDBOX: "sandbox"}


class ProviderNotConfigured(Exception):
    pass


@dataclass(frozen=True)
class SandboxConfig:
    secret: str
    public_base_url: str
    tz: ZoneInfo


@dataclass(frozen=True)
class PaymentProviders:
    """Each provider's config, None when the deployment does not offer it."""

    sandbox: SandboxConfig | None = None
    wechat_pay: WeChatPayConfig | None = None
    alipay: AlipayConfig | None = None

    def configured(self) -> list[str]:
        offered = ((SANDBOX, self.sandbox), (WECHAT_PAY, self.wechat_pay), (ALIPAY, self.alipay))
        return [name for name, config in offered if config is not None]

    def sandbox_provider(self) -> Sandbox:
        if self.sandbox is None:
            raise ProviderNotConfigured(SANDBOX)
        return Sandbox(self.sandbox.secret, self.sandbox.public_base_url, self.sandbox.tz)

    def gateway(self, provider: str) -> PaymentGateway:
        if provider == SANDBOX:
            return self.sandbox_provider()
        if provider == WECHAT_PAY and self.wechat_pay is not None:
            return WeChatPay(self.wechat_pay)
        if provider == ALIPAY and self.alipay is not None:
            return Alipay(self.alipay)
        raise ProviderNotConfigured(provider)


def notify_url(base_url: str, provider: str) -> str:
    return f"{base_url.rstrip('/')}/payments/notify/{NOTIFY_PATHS[provider]}"
