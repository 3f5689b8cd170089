"""Encryption of sensitive personal information (PIPL): AES-256-GCM with a keyring, plus a keyed hash.

Ciphertexts carry the id of the key that made them, so keys rotate without downtime: add a new
key first in GUALEMA_ENCRYPTION_KEYS, keep the old ones for decryption, then run
`python -m gualema rotate-keys` to re-encrypt rows at leisure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class UnknownKey(Exception):
    pass


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]
    current: str
    lookup_key: bytes

    @classmethod
    def from_settings(cls, encryption_keys: str | None, secret_key: str) -> Keyring:
        if encryption_keys:
            keys: dict[str, bytes] = {}
            order: list[str] = []
            for entry in encryption_keys.split(","):
                kid, _, material = entry.strip().partition(":")
                raw = base64.b64decode(material)
                if not kid or len(raw) != 32:
                    raise ValueError("GUALEMA_ENCRYPTION_KEYS entries are 'id:base64 of 32 bytes'")
                keys[kid] = raw
                order.append(kid)
            current = order[0]
        else:
            # Development fallback: derived from the secret key, so a dev database stays readable.
            keys = {"k0": hashlib.sha256(b"gualema-pii|" + secret_key.encode()).digest()}
            current = "k0"
        lookup = hashlib.sha256(b"gualema-lookup|" + secret_key.encode()).digest()
        return cls(keys=keys, current=current, lookup_key=lookup)

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{self.current}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, context: str) -> str:
        kid, _, payload = token.partition(":")
        key = self.keys.get(kid)
        if key is None:
            raise UnknownKey(kid)
        raw = base64.b64decode(payload)
        return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()

    def key_id(self, token: str) -> str:
        return token.partition(":")[0]

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self.lookup_key, value.encode(), hashlib.sha256).hexdigest()


_keyring: Keyring | None = None


def keyring() -> Keyring:
    global _keyring
    if _keyring is None:
        from gualema.settings import get_settings

        settings = get_settings()
        keys = settings.encryption_keys.get_secret_value() if settings.encryption_keys else None
        _keyring = Keyring.from_settings(keys, settings.secret_key.get_secret_value())
    return _keyring


def reset_keyring() -> None:
    global _keyring
    _keyring = None
