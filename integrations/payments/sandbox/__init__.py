"""The built-in sandbox provider (provider.py), its own ledger (ledger.py) and its pay page (page.py)."""

from integrations.payments.sandbox.provider import SIGNATURE_HEADER, Sandbox

__all__ = ["SIGNATURE_HEADER", "Sandbox"]
