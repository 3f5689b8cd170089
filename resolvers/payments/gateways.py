"""The provider adapters, as the edge configured them (Settings.payment_providers)."""

from __future__ import annotations

from gualema.settings import Settings
from integrations.payments.interface import PaymentGateway
from integrations.payments.registry import ProviderNotConfigured
from models.payments import PaymentProvider, PaymentProviderUnavailable


class NotificationRejected(Exception):
    """Verified provider news that does not match our records (unknown number, wrong amount)."""


def gateway(settings: Settings, provider: PaymentProvider | str) -> PaymentGateway:
    try:
        return settings.payment_providers().gateway(PaymentProvider(provider).value)
    except ProviderNotConfigured:
        raise PaymentProviderUnavailable() from None


def configured_providers(settings: Settings) -> list[str]:
    return settings.payment_providers().configured()
