from tests.payments.fakes import fresh_ledgers, providers

__all__ = ["fresh_ledgers", "providers"]
