"""Pacing, not dropping: a Redis sliding-window log per limit, shared by every worker and sender thread.

A channel declares its rates (``bot.outbound.channel.Rate``); ``RateLimiter.reserve`` takes a slot
in every window a message counts against, or says how long to wait for the fullest one. A message
over a limit waits in the delayed set; nothing is sent and nothing is lost.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import NamedTuple

import redis

_RESERVE = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 + 2 * i]) * 1000) + 1000)
end
return '0'
"""


class Limit(NamedTuple):
    """One window a send counts against: its Redis key, how many fit, over how many seconds."""

    key: str
    limit: int
    window: float


class RateLimiter:
    """Sliding-window logs in Redis: ``reserve`` takes a slot in every window or says how long to wait."""

    def __init__(self, client: redis.Redis, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._script = client.register_script(_RESERVE)

    def reserve(self, limits: Iterable[tuple[str, int, float]]) -> float:
        limits = list(limits)
        if not limits:
            return 0.0
        args: list[str] = [repr(self.clock()), uuid.uuid4().hex]
        for _key, limit, window in limits:
            args += [str(limit), repr(window)]
        return float(self._script(keys=[key for key, _, _ in limits], args=args))
