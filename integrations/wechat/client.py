"""The WeChat mini-program server API (https://api.weixin.qq.com).

WeChat answers HTTP 200 with `{"errcode": N, "errmsg": "…"}` for every failure; the codes this client
tells apart are the ones a caller acts on differently. The session key WeChat returns with an openid
is dropped here: the phone-number API needs only a code, so nothing else may ever see it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from integrations.wechat.access_token import AccessToken, SharedAccessToken
from integrations.wechat.errors import TOKEN_REFUSED, WeChatError

log = logging.getLogger("integrations.wechat")

DEFAULT_API_BASE_URL = "https://api.weixin.qq.com"


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    unionid: str | None


@dataclass(frozen=True)
class WeChatPhone:
    phone: str  # without the country code
    country_code: str


@dataclass(frozen=True)
class MiniProgramConfig:
    appid: str
    secret: str
    base_url: str = DEFAULT_API_BASE_URL
    timeout_seconds: float = 5.0


class MiniProgramClient:
    def __init__(
        self, config: MiniProgramConfig, token: SharedAccessToken, http: httpx.AsyncClient | None = None
    ) -> None:
        self.config = config
        self.token = token
        self._http = http or httpx.AsyncClient(timeout=config.timeout_seconds)

    async def code_to_session(self, code: str) -> WeChatSession:
        answer = await self._call(
            "GET",
            "/sns/jscode2session",
            params={
                "appid": self.config.appid,
                "secret": self.config.secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
        )
        return WeChatSession(openid=str(answer["openid"]), unionid=answer.get("unionid") or None)

    async def phone_number(self, code: str) -> WeChatPhone:
        """The number the user agreed to share (the `getPhoneNumber` button's code)."""
        for attempt in range(2):
            token = await self.token.get(self.fetch_access_token)
            try:
                answer = await self._call(
                    "POST",
                    "/wxa/business/getuserphonenumber",
                    params={"access_token": token.value},
                    json={"code": code},
                )
            except WeChatError as exc:
                if exc.errcode in TOKEN_REFUSED and attempt == 0:
                    await self.token.invalidate(token.value)  # refreshed once, by whoever comes first
                    continue
                raise
            info = answer["phone_info"]
            return WeChatPhone(phone=str(info["purePhoneNumber"]), country_code=str(info["countryCode"]))
        raise WeChatError(42001, "access token refused twice")

    async def fetch_access_token(self) -> AccessToken:
        answer = await self._call(
            "GET",
            "/cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": self.config.appid,
                "secret": self.config.secret,
            },
        )
        lifetime = timedelta(seconds=int(answer.get("expires_in", 7200)))
        return AccessToken(str(answer["access_token"]), datetime.now(UTC) + lifetime)

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, self.config.base_url.rstrip("/") + path, **kwargs)
            answer: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("wechat %s unreachable: %s", path, type(exc).__name__)
            raise WeChatError(0, type(exc).__name__) from None
        errcode = int(answer.get("errcode") or 0)
        if errcode != 0:
            log.info("wechat %s answered errcode %s", path, errcode)
            raise WeChatError(errcode, str(answer.get("errmsg", "")))
        return answer

    async def aclose(self) -> None:
        await self._http.aclose()
