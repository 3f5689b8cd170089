"""Signed QR markers: a printed code names a map point and proves it was issued by this hospital.

Format (docs/decisions/082-signed-qr-markers.md), shared with queue check-in:

    code = MARKER_ID "." SIGNATURE
    MARKER_ID = 1-32 of [A-Z0-9-]
    SIGNATURE = base32 (RFC 4648, no padding) of the first 10 bytes of
                HMAC-SHA256(key, b"gualema-marker:v1:" + MARKER_ID), i.e. 16 characters [A-Z2-7]
    key = HMAC-SHA256(settings.secret_key, b"gualema/navigation-marker/v1")

The printed URL is `{navigation_marker_url}/{code}`; `parse_marker_code` accepts the bare code or
any URL whose last path segment is the code. Everything is uppercase so a QR encoder can use its
compact alphanumeric mode.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from models.errors import DomainError

MARKER_ID = re.compile(r"^[A-Z0-9-]{1,32}$")
SIGNATURE_BYTES = 10  # 80 bits: unforgeable by guessing, short enough for a small QR version
SIGNATURE_CHARS = 16  # base32 of 10 bytes, no padding
_KEY_LABEL = b"gualema/navigation-marker/v1"
_MESSAGE_PREFIX = b"gualema-marker:v1:"


class InvalidMarker(DomainError):
    default_message = "this QR code was not issued by the hospital or was altered; scan a code on the wall"


@dataclass(frozen=True)
class SignedMarker:
    marker_id: str
    signature: str

    @property
    def code(self) -> str:
        return f"{self.marker_id}.{self.signature}"


def marker_id_problem(marker_id: str) -> str | None:
    if not MARKER_ID.match(marker_id):
        return "a marker id has 1-32 characters: uppercase letters, digits and '-'"
    return None


def marker_key(secret_key: str) -> bytes:
    # A derived key: a leaked marker signature says nothing about the tokens signed with secret_key.
    return hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()


def _signature(key: bytes, marker_id: str) -> str:
    digest = hmac.new(key, _MESSAGE_PREFIX + marker_id.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:SIGNATURE_BYTES]).decode().rstrip("=")


def sign_marker(secret_key: str, marker_id: str) -> SignedMarker:
    problem = marker_id_problem(marker_id)
    if problem:
        raise InvalidMarker(problem)
    return SignedMarker(marker_id, _signature(marker_key(secret_key), marker_id))


def marker_url(base_url: str, signed: SignedMarker) -> str:
    return f"{base_url.rstrip('/')}/{signed.code}"


def parse_marker_code(text: str) -> tuple[str, str]:
    """(marker id, signature) from a bare code or a scanned URL; InvalidMarker when malformed."""
    candidate = text.strip()
    if "/" in candidate:
        candidate = urlsplit(candidate).path.rstrip("/").rsplit("/", 1)[-1]
    marker_id, dot, signature = candidate.upper().rpartition(".")
    if not dot or marker_id_problem(marker_id) or len(signature) != SIGNATURE_CHARS:
        raise InvalidMarker()
    return marker_id, signature


def verify_marker_code(secret_key: str, text: str) -> str:
    """The marker id of a genuine code; InvalidMarker for a forged, altered or malformed one."""
    marker_id, signature = parse_marker_code(text)
    expected = _signature(marker_key(secret_key), marker_id)
    if not hmac.compare_digest(expected, signature):
        raise InvalidMarker()
    return marker_id
