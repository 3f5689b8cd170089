"""Alipay's RSA2 content to sign: every parameter except `sign` (and `sign_type` for notifications),
empty values dropped, sorted by name, joined as `k=v&k=v` with the raw (decoded) values."""

from __future__ import annotations

from collections.abc import Mapping


def content_to_sign(params: Mapping[str, str], *, drop_sign_type: bool) -> str:
    dropped = {"sign", "sign_type"} if drop_sign_type else {"sign"}
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in dropped and v != "")


def response_content(raw: str, node: str) -> str | None:
    """The exact text of `"<node>": {...}` in a gateway response, which is what Alipay signs."""
    marker = f'"{node}":'
    start = raw.find(marker)
    if start < 0:
        return None
    start += len(marker)
    while raw[start] in " \t\r\n":
        start += 1
    depth = 0
    in_string = False
    escaped = False
    for index in range(start, len(raw)):
        char = raw[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return raw[start : index + 1]
    return None
