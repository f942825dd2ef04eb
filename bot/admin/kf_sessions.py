"""微信客服 sessions for the operator view's hand-off page: who is with the bot, in WeCom's reception pool,
with a receptionist, or done — and how much of the 48 h / 5 messages window is left."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis

from bot.channels.kf.state import WINDOW_MESSAGES, KfState
from bot.core.keys import KF_SESSIONS_INDEX
from bot.infra.redis_conn import scored

STATE_NAMES = {0: "new", 1: "with the bot", 2: "in the reception pool", 3: "with a receptionist", 4: "ended"}


@dataclass
class KfSessionRow:
    user_key: str
    account: str
    customer: str
    state: int
    state_name: str
    servicer: str | None
    since: float
    window_open: bool
    window_left: int  # messages the bot may still send in the window
    window_closes: float | None


def kf_sessions(client: redis.Redis, clock: Callable[[], float], limit: int = 50) -> list[KfSessionRow]:
    """The most recently changed sessions first."""
    state = KfState(client, clock)
    now = clock()
    rows = []
    for user_key, changed in scored(client.zrevrange(KF_SESSIONS_INDEX, 0, limit - 1, withscores=True)):
        session = state.session(user_key)
        window = state.window(user_key)
        account, _, customer = user_key.partition(":")
        number = int(session.get("state", 1))
        closes = window.get("closes")
        is_open = bool(closes and now < closes and window.get("sent", 0) < WINDOW_MESSAGES)
        rows.append(KfSessionRow(user_key, account, customer, number, STATE_NAMES.get(number, str(number)),
                                 session.get("servicer"), float(session.get("since") or changed), is_open,
                                 max(0, WINDOW_MESSAGES - int(window.get("sent", 0))) if is_open else 0, closes))
    return rows
