"""Access tokens: a token whose signature was checked once is remembered, but never beyond its expiry
and never under another secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models import access_tokens
from models.access_tokens import InvalidToken, decode_access_token, issue_access_token

SECRET = "secret-one-0123456789abcdef-0123456789"
OTHER_SECRET = "secret-two-0123456789abcdef-0123456789"


def test_a_remembered_token_is_refused_under_another_secret() -> None:
    token, _ = issue_access_token(SECRET, subject=7, role="patient", lifetime=timedelta(minutes=5))

    assert decode_access_token(SECRET, token).subject == 7
    assert decode_access_token(SECRET, token).subject == 7  # answered from memory
    with pytest.raises(InvalidToken):
        decode_access_token(OTHER_SECRET, token)


def test_a_remembered_token_expires_on_time(monkeypatch: pytest.MonkeyPatch) -> None:
    token, expires = issue_access_token(SECRET, subject=8, role="patient", lifetime=timedelta(minutes=5))
    assert decode_access_token(SECRET, token).subject == 8

    # The wall clock moves past the expiry (PyJWT reads the same clock).
    later = expires.timestamp() + 1
    monkeypatch.setattr(access_tokens.time, "time", lambda: later)
    monkeypatch.setattr("jwt.api_jwt.datetime", _FrozenDatetime(later))

    with pytest.raises(InvalidToken):
        decode_access_token(SECRET, token)


class _FrozenDatetime:
    def __init__(self, timestamp: float) -> None:
        self._now = datetime.fromtimestamp(timestamp, UTC)

    def now(self, tz: object = None) -> object:  # noqa: ARG002 - PyJWT passes tz= by keyword
        return self._now

    def __getattr__(self, name: str) -> object:
        return getattr(datetime, name)
