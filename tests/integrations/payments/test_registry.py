"""Which providers a deployment offers: the sandbox everywhere but production, the others once keyed."""

from __future__ import annotations

from gualema.settings import Settings
from integrations.payments.registry import configured_providers


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

    assert (development.payment_default_provider, configured_providers(development)) == (
        "sandbox",
        ["sandbox"],
    )
    assert configured_providers(production) == []
    assert configured_providers(production_with_sandbox) == ["sandbox"]
