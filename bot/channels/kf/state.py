"""What the bot must know of each 微信客服 customer besides progress: the send window and the session state.

- The window (path/94677): after a customer message the enterprise may send at most 5 messages within
  48 h; the next customer message opens a new window. One hash per customer (``kf_window_key``): when
  it opened, how many were sent, and which outbox messages were counted (a retry of the same message
  is not counted twice). Reserving a place is one script on that one key.
- The session state (path/94669): 0 new, 1 the bot (API) receives, 2 in the reception pool, 3 a
  receptionist has it, 4 ended. The bot may send only in 0 or 1. Known from our own transfers and from
  ``session_status_change`` events; kept per customer (``kf_session_key``) and indexed for the operator view.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import redis

from bot.channels.kf.api import BOT, BOT_MAY_SEND
from bot.core.keys import KF_SESSIONS_INDEX, kf_session_key, kf_welcomed_key, kf_window_key
from bot.infra.redis_conn import optional_str

WINDOW_SECONDS = 48 * 3600.0
WINDOW_MESSAGES = 5
WINDOW_MARGIN = 60.0  # our clock is not WeCom's: the window closes a minute early
WELCOME_ONCE_SECONDS = 48 * 3600.0

OK, CLOSED, FULL = "ok", "closed", "full"

_RESERVE = """
local opened = redis.call('HGET', KEYS[1], 'opened')
if not opened then return 'closed' end
if redis.call('HEXISTS', KEYS[1], 'm:' .. ARGV[1]) == 1 then return 'ok' end
if tonumber(ARGV[2]) > tonumber(opened) + tonumber(ARGV[3]) then return 'closed' end
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if n >= tonumber(ARGV[4]) then return 'full' end
redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'm:' .. ARGV[1], ARGV[2])
return 'ok'
"""


class KfState:
    def __init__(self, client: redis.Redis, clock: Callable[[], float]) -> None:
        self.redis = client
        self.clock = clock
        self._reserve = client.register_script(_RESERVE)

    # -- the 48 h / 5 messages window ----------------------------------------------------------------------
    @staticmethod
    def open_window(pipe: Any, user_key: str, at: float) -> None:
        """A customer message (sent ``at``, WeCom's time): a fresh window, nothing sent in it yet."""
        key = kf_window_key(user_key)
        pipe.delete(key)
        pipe.hset(key, mapping={"opened": at, "n": 0})
        pipe.expire(key, int(WINDOW_SECONDS + 3600))

    def reserve(self, user_key: str, message_id: str) -> str:
        """Count ``message_id`` against the window: OK, CLOSED (48 h passed, or never opened) or FULL."""
        result = self._reserve(keys=[kf_window_key(user_key)],
                               args=[message_id, self.clock(), WINDOW_SECONDS - WINDOW_MARGIN, WINDOW_MESSAGES])
        return result.decode() if isinstance(result, bytes) else str(result)

    def window(self, user_key: str) -> dict[str, float]:
        raw = self.redis.hgetall(kf_window_key(user_key))
        data = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
        if "opened" not in data:
            return {}
        return {"opened": float(data["opened"]), "sent": float(data.get("n") or 0),
                "closes": float(data["opened"]) + WINDOW_SECONDS - WINDOW_MARGIN}

    # -- the session state -----------------------------------------------------------------------------------
    def session(self, user_key: str) -> dict[str, Any]:
        raw = optional_str(self.redis.get(kf_session_key(user_key)))
        if not raw:
            return {"state": BOT}
        try:
            data = json.loads(raw)
        except ValueError:
            return {"state": BOT}
        return data if isinstance(data, dict) else {"state": BOT}

    def state(self, user_key: str) -> int:
        return int(self.session(user_key).get("state", BOT))

    def bot_may_send(self, user_key: str) -> bool:
        return self.state(user_key) in BOT_MAY_SEND

    def set_session(self, pipe: Any, user_key: str, state: int, *, servicer: str | None = None,
                    **extra: Any) -> None:
        record = {"state": state, "servicer": servicer, "since": self.clock(), **extra}
        pipe.set(kf_session_key(user_key), json.dumps(record, ensure_ascii=False), ex=30 * 86400)
        pipe.zadd(KF_SESSIONS_INDEX, {user_key: self.clock()})

    # -- welcome once ------------------------------------------------------------------------------------------
    def may_welcome(self, user_key: str, msgid: str) -> bool:
        """True for the first enter_session within 48 h (and again for a replay of that same event)."""
        key = kf_welcomed_key(user_key)
        if self.redis.set(key, msgid, nx=True, ex=int(WELCOME_ONCE_SECONDS)):
            return True
        return optional_str(self.redis.get(key)) == msgid
