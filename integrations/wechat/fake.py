"""A fake WeChat mini-program API on 127.0.0.1 for tests and offline demos.

It answers as api.weixin.qq.com does: HTTP 200 with JSON, failures as `errcode`/`errmsg`. Login and
phone codes are one-time (40029 unknown, 40163 spent); `/cgi-bin/token` issues a new token and keeps
the previous one valid for five minutes, as WeChat does; `fail_next` queues errcodes (45011 rate
limit, -1 system busy, …) for the next calls of an endpoint.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integrations.wechat.errors import CODE_USED, INVALID_CODE

MESSAGES = {
    INVALID_CODE: "invalid code",
    CODE_USED: "code been used",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    42001: "access_token expired",
    40013: "invalid appid",
    40125: "invalid appsecret",
}
OLD_TOKEN_GRACE_SECONDS = 300


@dataclass
class FakeWeChat:
    appid: str
    secret: str
    token_lifetime_seconds: int = 7200
    login_codes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    phone_codes: dict[str, str] = field(default_factory=dict)
    spent_codes: set[str] = field(default_factory=set)
    # token -> expiry (monotonic seconds); the current one and the previous one in its grace period
    tokens: dict[str, float] = field(default_factory=dict)
    token_fetches: int = 0
    failures: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))
    calls: list[str] = field(default_factory=list)
    session_keys: list[str] = field(default_factory=list)  # every one handed out, to check it stays put

    # -- what a test arranges

    def login_code(self, openid: str, unionid: str | None = None) -> str:
        """What `wx.login()` gives the mini-program for this user."""
        code = secrets.token_hex(16)
        self.login_codes[code] = (openid, unionid)
        return code

    def phone_code(self, phone: str) -> str:
        """What the `getPhoneNumber` button gives once the user agrees to share `phone`."""
        code = secrets.token_hex(16)
        self.phone_codes[code] = phone
        return code

    def fail_next(self, path: str, *errcodes: int) -> None:
        self.failures[path].extend(errcodes)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def reset(self) -> None:
        self.login_codes.clear()
        self.phone_codes.clear()
        self.spent_codes.clear()
        self.tokens.clear()
        self.failures.clear()
        self.calls.clear()
        self.session_keys.clear()
        self.token_fetches = 0

    # -- the wire

    def _error(self, errcode: int) -> JSONResponse:
        rid = secrets.token_hex(4)
        return JSONResponse({"errcode": errcode, "errmsg": f"{MESSAGES.get(errcode, 'error')} rid: {rid}"})

    def _queued_failure(self, path: str) -> int | None:
        queue = self.failures.get(path)
        return queue.popleft() if queue else None

    def _spend(self, code: str, known: dict[str, object]) -> int | None:
        if code in self.spent_codes:
            return CODE_USED
        if code not in known:
            return INVALID_CODE
        self.spent_codes.add(code)
        return None

    def _refusal(self, endpoint: str, request: Request) -> JSONResponse | None:
        """A queued failure, or WeChat's answer to a wrong appid or secret; None when all is well."""
        self.calls.append(endpoint)
        params = request.query_params
        if (failure := self._queued_failure(endpoint)) is not None:
            return self._error(failure)
        if params.get("appid") != self.appid:
            return self._error(40013)
        if params.get("secret") != self.secret:
            return self._error(40125)
        return None

    async def jscode2session(self, request: Request) -> JSONResponse:
        if (refused := self._refusal("jscode2session", request)) is not None:
            return refused
        code = request.query_params.get("js_code", "")
        if (problem := self._spend(code, self.login_codes)) is not None:  # type: ignore[arg-type]
            return self._error(problem)
        openid, unionid = self.login_codes.pop(code)
        answer = {"openid": openid, "session_key": secrets.token_urlsafe(16)}
        self.session_keys.append(answer["session_key"])
        if unionid:
            answer["unionid"] = unionid
        return JSONResponse(answer)

    async def token(self, request: Request) -> JSONResponse:
        if (refused := self._refusal("token", request)) is not None:
            return refused
        self.token_fetches += 1
        now = time.monotonic()
        # The previous token stays valid for five minutes after a new one is issued.
        self.tokens = {
            value: min(expiry, now + OLD_TOKEN_GRACE_SECONDS) for value, expiry in self.tokens.items()
        }
        value = secrets.token_urlsafe(48)
        self.tokens[value] = now + self.token_lifetime_seconds
        return JSONResponse({"access_token": value, "expires_in": self.token_lifetime_seconds})

    async def getuserphonenumber(self, request: Request) -> JSONResponse:
        self.calls.append("getuserphonenumber")
        if (failure := self._queued_failure("getuserphonenumber")) is not None:
            return self._error(failure)
        token = request.query_params.get("access_token", "")
        expiry = self.tokens.get(token)
        if expiry is None:
            return self._error(40001)
        if expiry < time.monotonic():
            return self._error(42001)
        body = await request.json()
        code = str(body.get("code", ""))
        if (problem := self._spend(code, self.phone_codes)) is not None:  # type: ignore[arg-type]
            return self._error(problem)
        phone = self.phone_codes.pop(code)
        return JSONResponse(
            {
                "errcode": 0,
                "errmsg": "ok",
                "phone_info": {
                    "phoneNumber": phone,
                    "purePhoneNumber": phone,
                    "countryCode": "86",
                    "watermark": {"timestamp": int(time.time()), "appid": self.appid},
                },
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/sns/jscode2session", self.jscode2session),
                Route("/cgi-bin/token", self.token),
                Route("/wxa/business/getuserphonenumber", self.getuserphonenumber, methods=["POST"]),
            ]
        )
