"""Tencent Cloud API 3.0 request signing, TC3-HMAC-SHA256.

CanonicalRequest = METHOD \n URI \n QUERY \n canonical headers (content-type, host; lower-case,
"name:value\n") \n signed header names \n hex(SHA256(body)).
StringToSign = "TC3-HMAC-SHA256" \n timestamp \n "<UTC date>/<service>/tc3_request" \n hex(SHA256(CR)).
Key = HMAC(HMAC(HMAC("TC3" + secret, date), service), "tc3_request"); signature = hex(HMAC(key, STS)).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

ALGORITHM = "TC3-HMAC-SHA256"
SIGNED_HEADERS = "content-type;host"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def utc_date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def canonical_request(method: str, content_type: str, host: str, body: bytes) -> str:
    headers = f"content-type:{content_type.lower()}\nhost:{host.lower()}\n"
    return "\n".join([method.upper(), "/", "", headers, SIGNED_HEADERS, hashlib.sha256(body).hexdigest()])


def string_to_sign(timestamp: int, service: str, canonical: str) -> str:
    scope = f"{utc_date(timestamp)}/{service}/tc3_request"
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def signature(secret_key: str, timestamp: int, service: str, to_sign: str) -> str:
    key = _hmac(("TC3" + secret_key).encode(), utc_date(timestamp))
    key = _hmac(key, service)
    key = _hmac(key, "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def authorization(
    *,
    secret_id: str,
    secret_key: str,
    timestamp: int,
    service: str,
    method: str,
    content_type: str,
    host: str,
    body: bytes,
) -> str:
    canonical = canonical_request(method, content_type, host, body)
    sig = signature(secret_key, timestamp, service, string_to_sign(timestamp, service, canonical))
    scope = f"{utc_date(timestamp)}/{service}/tc3_request"
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={sig}"
