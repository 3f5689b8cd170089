"""The built-in sandbox provider (provider.py) and its own ledger (ledger.py)."""

from integrations.payments.sandbox.provider import SIGNATURE_HEADER, Sandbox

__all__ = ["SIGNATURE_HEADER", "Sandbox"]
