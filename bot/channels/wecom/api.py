"""A small WeCom HTTP client for the outbound surfaces: gettoken, message/send, webhook, response_url.

Why not wechatpy's ``WeChatClient``: the sender must tell "retry later" from "never works" for every
call (HTTP status, timeouts, errcode even on HTTP 200) and must not retry on its own behind the
outbox's back; a thin client makes that classification explicit. The access token is cached in
Redis (one per corp + secret, shared by every process, refreshed a little before expiry, fetched by
one process at a time) because fetching it often gets the app frequency-blocked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import redis
import requests

from bot.core.keys import access_token_key, access_token_lock_key
from bot.core.locking import RedisLock

log = logging.getLogger(__name__)

TOKEN_INVALID = {40001, 40014, 42001}  # WeCom may invalidate a token early: refetch once and retry
RATE_LIMITED = 45009
SYSTEM_BUSY = -1  # WeCom: "system busy, retry later"; also ours for a reply that is JSON but not an object
MAX_DUPLICATE_CHECK = 4 * 3600  # WeCom: duplicate_check_interval at most 4 hours
URL_NOT_ALLOWED = -2  # ours: a response_url outside WeCom's origins is never posted to (counts as refused)
WECOM_ORIGIN = "https://qyapi.weixin.qq.com"
# Errors that no retry fixes: bad user, bad agent, bad content, IP not allowed, bad webhook key.
PERMANENT = {40003, 40008, 40013, 40056, 40058, 44004, 45002, 48002, 60020, 81013, 93000, 93004}


class WeComError(Exception):
    """A call failed; ``errcode`` is None for transport failures (timeouts, HTTP errors, bad JSON)."""

    def __init__(self, message: str, errcode: int | None = None) -> None:
        super().__init__(message)
        self.errcode = errcode

    @property
    def permanent(self) -> bool:
        return self.errcode in PERMANENT

    @property
    def rate_limited(self) -> bool:
        return self.errcode == RATE_LIMITED

    @property
    def refused(self) -> bool:
        """WeCom answered and turned the call down: nothing was delivered, so another channel cannot
        duplicate it. A timeout or an HTTP error (errcode None) may have been delivered; "busy" and
        45009 say "later". WeCom documents no response_url codes (path/101138), so any other counts.
        """
        return self.errcode is not None and self.errcode not in (SYSTEM_BUSY, RATE_LIMITED)


class WeComAPI:
    def __init__(self, base: str, client: redis.Redis, *, corp_id: str, secret: str | None, agent_id: int,
                 timeout: float = 5.0, session: requests.Session | None = None,
                 response_url_origins: tuple[str, ...] = (), duplicate_check_seconds: int = 1800) -> None:
        """``response_url_origins``: where a payload's response_url may point besides WeCom and ``base``'s
        own origin (a callback's JSON names the URL: without the check, anyone who could get a payload
        signed would make the worker POST our answers wherever they like)."""
        self.base = base if base.endswith("/") else base + "/"
        self.duplicate_check_seconds = min(max(int(duplicate_check_seconds), 0), MAX_DUPLICATE_CHECK)
        self.response_url_origins = frozenset({WECOM_ORIGIN, origin(self.base), *map(origin, response_url_origins)})
        self.redis = client
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id
        self.timeout = timeout
        self._shared_session = session
        self._local = threading.local()  # requests.Session is not documented thread-safe: one per sender thread
        digest = hashlib.sha256(f"{corp_id}|{secret}".encode()).hexdigest()[:16]
        self._token_key = access_token_key(digest)
        self._token_lock_key = access_token_lock_key(digest)

    @property
    def session(self) -> requests.Session:
        if self._shared_session is not None:
            return self._shared_session
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    @property
    def can_send_app(self) -> bool:
        return bool(self.secret and self.corp_id)

    # -- calls --------------------------------------------------------------------------------------
    def send_app(self, to_user: str, msgtype: str, content: str) -> dict[str, Any]:
        """``message/send`` to one or more ("u1|u2") members of the corp.

        With WeCom's duplicate check on, a repeat of the same content to the same member within the
        interval is dropped by WeCom: a worker killed after WeCom took a message but before it was
        marked sent re-sends it, and the member still sees it once.
        """
        body: dict[str, Any] = {"touser": to_user, "msgtype": msgtype, "agentid": self.agent_id,
                                msgtype: {"content": content}}
        if self.duplicate_check_seconds > 0:
            body["enable_duplicate_check"] = 1
            body["duplicate_check_interval"] = self.duplicate_check_seconds
        for attempt in (1, 2):
            token = self.access_token(force=attempt == 2)
            try:
                data = self._post(f"{self.base}message/send", body, params={"access_token": token})
            except WeComError as exc:
                if exc.errcode in TOKEN_INVALID and attempt == 1:
                    continue
                raise
            invalid = [u for u in str(data.get("invaliduser") or "").split("|") if u]
            if invalid and set(invalid) >= set(to_user.split("|")):
                raise WeComError(f"message/send: invalid user {data.get('invaliduser')}", 40003)
            return data
        raise AssertionError("unreachable")

    def post_with_token(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``base + path`` with this secret's access token (refetched once if WeCom
        says it went stale): the kf API (``bot.channels.kf.api``) goes through here."""
        for attempt in (1, 2):
            token = self.access_token(force=attempt == 2)
            try:
                return self._post(f"{self.base}{path}", body, params={"access_token": token})
            except WeComError as exc:
                if exc.errcode in TOKEN_INVALID and attempt == 1:
                    continue
                raise
        raise AssertionError("unreachable")

    def send_webhook(self, key: str, msgtype: str, content: str, mention: list[str] | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"content": content}
        if msgtype == "text" and mention:
            payload["mentioned_list"] = mention
        return self._post(f"{self.base}webhook/send", {"msgtype": msgtype, msgtype: payload}, params={"key": key})

    def post_response_url(self, url: str, content: str) -> dict[str, Any]:
        if origin(url) not in self.response_url_origins:
            raise WeComError(f"response_url outside WeCom's origins: {origin(url)!r}", URL_NOT_ALLOWED)
        return self._post(url, {"msgtype": "markdown", "markdown": {"content": content}})

    # -- the access token -----------------------------------------------------------------------------
    def access_token(self, force: bool = False) -> str:
        if not self.can_send_app:
            raise WeComError("no WECOM_APP_SECRET configured", 40001)
        if not force:
            cached = self.redis.get(self._token_key)
            if cached:
                return cached if isinstance(cached, str) else cached.decode()
        # one fetcher at a time across processes; the others wait briefly and read its result
        lock = RedisLock(self.redis, self._token_lock_key, ttl=self.timeout * 2 + 1)
        if not lock.acquire(wait=self.timeout):
            raise redis.exceptions.LockError("Unable to acquire lock within the time specified")
        try:
            cached = None if force else self.redis.get(self._token_key)
            if cached:
                return cached if isinstance(cached, str) else cached.decode()
            data = self._get(f"{self.base}gettoken", {"corpid": self.corp_id, "corpsecret": self.secret})
            token = str(data["access_token"])
            ttl = max(int(data.get("expires_in", 7200)) - 300, 60)  # refresh 5 min early
            self.redis.set(self._token_key, token, ex=ttl)
            return token
        finally:
            lock.release()

    # -- HTTP ---------------------------------------------------------------------------------------
    def _get(self, url: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._call("GET", url, params=params)

    def _post(self, url: str, body: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("POST", url, params=params,
                          data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                          headers={"Content-Type": "application/json; charset=utf-8"})

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """One HTTP call with a timeout; errcode is read even on HTTP 200 (WeCom reports errors that way)."""
        path = url.split("?")[0].rsplit("/", 2)[-2:]
        started = time.monotonic()
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise WeComError(f"{'/'.join(path)}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise WeComError(f"{'/'.join(path)}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise WeComError(f"{'/'.join(path)}: response is not JSON") from exc
        errcode = int(data.get("errcode", 0) or 0) if isinstance(data, dict) else -1
        if errcode != 0:
            raise WeComError(f"{'/'.join(path)}: errcode {errcode} {data.get('errmsg', '')}".strip(), errcode)
        log.debug("%s %s ok in %.0f ms", method, "/".join(path), (time.monotonic() - started) * 1000)
        return data


def origin(url: str) -> str:
    """``scheme://host[:port]``, lower-cased; "" for what is not an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return ""
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{parts.hostname.lower()}" + (f":{port}" if port and port != default else "")
