"""Encryption of sensitive personal information (PIPL): AES-256-GCM with a keyring, plus a keyed hash.

Ciphertexts carry the id of the key that made them, so keys rotate without downtime
(docs/decisions/022-pii-key-rotation.md):
  1. append the new key to GUALEMA_ENCRYPTION_KEYS on every process (it can decrypt, not yet encrypt);
  2. move it to the front (it now encrypts new rows; old keys still decrypt);
  3. run `python -m gualema rotate-keys` to re-encrypt rows made with any other key;
  4. drop the old key once rotate-keys reports nothing left to rotate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tortoise.models import Model

log = logging.getLogger("gualema.personal_data")

# Without configured keys the key is derived from the secret key under this id. It stays available
# for decryption after real keys are configured, so a development database can be rotated onto them.
DERIVED_KEY_ID = "k0"


class UnknownKey(Exception):
    pass


def _derived_key(secret_key: str) -> bytes:
    return hashlib.sha256(b"gualema-pii|" + secret_key.encode()).digest()


def parse_keys(encryption_keys: str) -> tuple[dict[str, bytes], str]:
    """'kid:base64,kid2:base64' -> (keys, id of the first key, which encrypts)."""
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for entry in encryption_keys.split(","):
        kid, _, material = entry.strip().partition(":")
        try:
            raw = base64.b64decode(material, validate=True)
        except ValueError:
            raw = b""
        if not kid or len(raw) != 32 or kid in keys:
            raise ValueError("GUALEMA_ENCRYPTION_KEYS entries are 'id:base64 of 32 bytes', ids unique")
        keys[kid] = raw
        order.append(kid)
    return keys, order[0]


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]
    current: str
    lookup_key: bytes

    @classmethod
    def from_settings(
        cls, encryption_keys: str | None, secret_key: str, lookup_key: str | None = None
    ) -> Keyring:
        keys = {DERIVED_KEY_ID: _derived_key(secret_key)}
        current = DERIVED_KEY_ID
        if encryption_keys:
            configured, current = parse_keys(encryption_keys)
            keys.update(configured)
        lookup_material = (lookup_key or secret_key).encode()
        lookup = hashlib.sha256(b"gualema-lookup|" + lookup_material).digest()
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

    def is_current(self, token: str) -> bool:
        return self.key_id(token) == self.current

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self.lookup_key, value.encode(), hashlib.sha256).hexdigest()


_keyring: Keyring | None = None


def install_keyring(ring: Keyring) -> None:
    """Set by the edge when a process opens its database (gualema/domain_policies.py); nothing here
    reads settings (docs/decisions/132)."""
    global _keyring
    _keyring = ring


def keyring() -> Keyring:
    if _keyring is None:
        raise RuntimeError("the keyring is installed when the database is opened")
    return _keyring


def reset_keyring() -> None:
    global _keyring
    _keyring = None


@dataclass(frozen=True)
class EncryptedColumn:
    # A column holding keyring ciphertexts; `context` gives the associated data each row's
    # ciphertext is bound to (so a ciphertext copied to another row does not decrypt).
    model: type[Model]
    column: str
    context: Callable[[Any], str]


# Every table with encrypted columns registers them here at import, so rotate-keys finds them all.
ENCRYPTED_COLUMNS: list[EncryptedColumn] = []


def encrypted_column(model: type[Model], column: str, context: Callable[[Any], str]) -> None:
    ENCRYPTED_COLUMNS.append(EncryptedColumn(model, column, context))


@dataclass
class RotationReport:
    rotated: int = 0
    unreadable: int = 0
    per_column: dict[str, int] = field(default_factory=dict)


async def rotate_keys(ring: Keyring | None = None, batch_size: int = 500) -> RotationReport:
    """Re-encrypts every row whose ciphertext was made with a key other than the current one.

    Safe while the application runs: each row is replaced with a conditional update on its old
    ciphertext, so a row changed meanwhile is left alone (it was written with the current key).
    """
    ring = ring or keyring()
    report = RotationReport()
    for column in ENCRYPTED_COLUMNS:
        label = f"{column.model._meta.db_table}.{column.column}"
        report.per_column[label] = 0
        pk = column.model._meta.pk_attr
        last_id: Any = None
        while True:
            query = (
                column.model.exclude(**{f"{column.column}__startswith": f"{ring.current}:"})
                .order_by(pk)
                .limit(batch_size)
            )
            if last_id is not None:
                query = query.filter(**{f"{pk}__gt": last_id})
            rows = await query
            if not rows:
                break
            last_id = rows[-1].pk
            for row in rows:
                old = getattr(row, column.column)
                if not old or ring.is_current(old):
                    continue
                context = column.context(row)
                try:
                    plaintext = ring.decrypt(old, context)
                except (UnknownKey, InvalidTag, ValueError):
                    # Never log the value; the row id is enough to investigate.
                    log.error("cannot decrypt %s of row %s (key %r)", label, row.pk, ring.key_id(old))
                    report.unreadable += 1
                    continue
                replaced = await column.model.filter(pk=row.pk, **{column.column: old}).update(
                    **{column.column: ring.encrypt(plaintext, context)}
                )
                report.rotated += replaced
                report.per_column[label] += replaced
    return report
