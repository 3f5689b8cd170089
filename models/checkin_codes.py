"""Signed codes printed as QR codes on the wall: `GLM1.room.7.<signature>`.

The signature is an HMAC-SHA256 of the kind and id under a key derived from the secret key, so a
code cannot be forged or moved to another room, and needs no table. The caller passes the secret
(read at the edge from the settings). Other areas (navigation
markers) reuse the same format with their own `kind`. See docs/decisions/061-signed-checkin-codes.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from models.errors import DomainError

VERSION = "GLM1"
_KIND = re.compile(r"^[a-z][a-z_]{0,31}$")
_SIGNATURE_BYTES = 16  # 128 bits: unforgeable, and short enough for a small QR code


class InvalidCheckInCode(DomainError):
    default_message = "this code is not a valid Gualema code; scan the code on the wall again"


@dataclass(frozen=True)
class SignedCode:
    kind: str
    id: int


def _signature(secret: str, kind: str, id: int) -> str:
    # A derived key keeps these signatures apart from JWTs signed with the same secret.
    key = hmac.new(secret.encode(), b"gualema/signed-code/v1", hashlib.sha256).digest()
    digest = hmac.new(key, f"{kind}:{id}".encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_code(kind: str, id: int, *, secret: str) -> str:
    if not _KIND.match(kind):
        raise ValueError(f"a code kind is lowercase letters and underscores, got {kind!r}")
    return f"{VERSION}.{kind}.{id}.{_signature(secret, kind, id)}"


def verify_code(code: str, *, secret: str, kind: str | None = None) -> SignedCode:
    """The (kind, id) a genuine code names; InvalidCheckInCode for anything else."""
    parts = code.strip().split(".")
    if len(parts) != 4 or parts[0] != VERSION or not _KIND.match(parts[1]) or not parts[2].isdigit():
        raise InvalidCheckInCode()
    found_kind, found_id = parts[1], int(parts[2])
    expected = _signature(secret, found_kind, found_id)
    if not hmac.compare_digest(expected, parts[3]):
        raise InvalidCheckInCode()
    if kind is not None and found_kind != kind:
        raise InvalidCheckInCode()
    return SignedCode(found_kind, found_id)
