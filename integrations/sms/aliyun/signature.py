"""Aliyun RPC request signing (signature version 1.0, HMAC-SHA1).

StringToSign = METHOD + "&" + enc("/") + "&" + enc(canonicalised query), where the canonicalised query
is every parameter but `Signature`, sorted by name, each `enc(name)=enc(value)` joined with "&", and
enc() is RFC 3986 percent-encoding (space as %20, "*" as %2A, "~" kept). The key is the secret + "&".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote


def percent_encode(value: str) -> str:
    return quote(value, safe="~")


def canonicalised_query(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{percent_encode(name)}={percent_encode(params[name])}"
        for name in sorted(params)
        if name != "Signature"
    )


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonicalised_query(params))}"


def sign(method: str, params: Mapping[str, str], access_key_secret: str) -> str:
    digest = hmac.new(
        f"{access_key_secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()
