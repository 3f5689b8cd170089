"""WeChat's error codes that callers act on, and the one exception for every failure."""

from __future__ import annotations

INVALID_CODE = 40029
CODE_USED = 40163
RATE_LIMITED = 45011
SYSTEM_BUSY = -1
# The access token was refused: expired early, or replaced by a refresh elsewhere.
TOKEN_REFUSED = frozenset({40001, 40014, 42001})


class WeChatError(Exception):
    """WeChat refused or failed a call; `errcode` is WeChat's (0 for transport failures)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def code_rejected(self) -> bool:
        """The user's one-time code is invalid or spent: the client must ask WeChat for a new one."""
        return self.errcode in (INVALID_CODE, CODE_USED)

    @property
    def retryable(self) -> bool:
        return self.errcode in (RATE_LIMITED, SYSTEM_BUSY, 0)
