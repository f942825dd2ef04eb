"""The sender's side of the outbox: take a message, claim it, mark its parts, record its fate.

Every fate (sent, delayed, dead) is one MULTI with the removal from ``{wb}:outbox:processing``, so a
message is never both gone and unrecorded; see ``bot.outbound.queue`` for the lists.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import cast

import redis

from bot.core.keys import sent_part_key
from bot.infra.metrics import count_event
from bot.outbound.entry import OutboxMessage
from bot.outbound.queue import (
    CLAIM_PREFIX,
    DEAD_LETTERS,
    DELAYED,
    MOVE_IF_PRESENT,
    OUTBOX_QUEUE,
    PROCESSING,
    ROUTE_PREFIX,
    SENT_PREFIX,
)

log = logging.getLogger(__name__)

_PROMOTE = """
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for i = #items, 1, -1 do
  redis.call('ZREM', KEYS[1], items[i])
  redis.call('RPUSH', KEYS[2], items[i])
end
return #items
"""


class Outbox:
    """The sender's side of the queue: take, claim, and record each message's fate atomically."""

    def __init__(self, client: redis.Redis, *, clock: Callable[[], float], claim_ttl: float, sent_ttl: float) -> None:
        self.redis = client
        self.clock = clock
        self.claim_ttl = claim_ttl
        self.sent_ttl = sent_ttl
        self._promote = client.register_script(_PROMOTE)
        self._move = client.register_script(MOVE_IF_PRESENT)
        self._unclaimed: set[str] = set()  # processing entries the last sweep found without a claim

    # -- moving between lists -------------------------------------------------------------------------
    def recover(self) -> int:
        """Put messages a dead worker left half-done back at the head of the outbox (oldest first)."""
        moved = 0
        while self.redis.lmove(PROCESSING, OUTBOX_QUEUE, "LEFT", "RIGHT") is not None:
            moved += 1
        if moved:
            log.warning("recovered %d message(s) left in processing", moved)
        return moved

    def sweep(self) -> int:
        """Return processing entries stranded by a live worker (Redis dropped mid-fate) to the outbox.

        A sender holds a message's claim from just after taking it until its fate is recorded; only the
        instant between the LMOVE and the claim's SET is unclaimed. So an entry is moved only when two
        sweeps in a row found it unclaimed (the leader sweeps every ``sweep_interval``). Moving one
        that is still being worked on costs nothing: the claim and the sent marker drop the copy.
        """
        entries = cast(list[str], self.redis.lrange(PROCESSING, 0, -1))
        ids = [_message_id(raw) for raw in entries]
        with self.redis.pipeline(transaction=False) as pipe:
            for message_id in ids:
                pipe.exists(CLAIM_PREFIX + (message_id or ""))
            claimed = pipe.execute() if entries else []
        unclaimed = {raw for raw, message_id, held in zip(entries, ids, claimed, strict=True)
                     if not message_id or not held}
        stranded, self._unclaimed = unclaimed & self._unclaimed, unclaimed
        moved = sum(int(self._move(keys=[PROCESSING, OUTBOX_QUEUE], args=[raw, raw, "head"])) for raw in stranded)
        self._unclaimed -= stranded
        if moved:
            log.warning("swept %d stranded message(s) from processing back to the outbox", moved)
        return moved

    def promote(self, limit: int = 500) -> int:
        """Move delayed messages whose time has come back to the head of the outbox."""
        return int(self._promote(keys=[DELAYED, OUTBOX_QUEUE], args=[repr(self.clock()), limit]))

    def next_delayed_in(self) -> float | None:
        first = cast(list[tuple[str, float]], self.redis.zrange(DELAYED, 0, 0, withscores=True))
        return max(first[0][1] - self.clock(), 0.0) if first else None

    def take(self, block: float = 0.0) -> str | None:
        """The oldest message, moved into processing; ``block`` > 0 waits that long for one."""
        if block > 0:  # a float: redis-py sends it as is, and Redis takes fractions of a second
            return cast(str | None, self.redis.blmove(OUTBOX_QUEUE, PROCESSING, block, "RIGHT", "LEFT"))  # type: ignore[arg-type]
        return cast(str | None, self.redis.lmove(OUTBOX_QUEUE, PROCESSING, "RIGHT", "LEFT"))

    # -- exactly once -----------------------------------------------------------------------------------
    def was_sent(self, message: OutboxMessage) -> bool:
        return bool(self.redis.exists(SENT_PREFIX + message.id))

    def claim(self, message: OutboxMessage, identity: str) -> float | None:
        """Hold the message for this sender; None when held, else seconds until the other claim runs out."""
        claim = CLAIM_PREFIX + message.id
        if self.redis.set(claim, identity, nx=True, px=int(self.claim_ttl * 1000)):
            return None
        left = self.redis.pttl(claim)
        return left / 1000 if left > 0 else 0.1

    def extend_claim(self, message: OutboxMessage) -> None:
        self.redis.pexpire(CLAIM_PREFIX + message.id, int(self.claim_ttl * 1000))

    def part_sent(self, message: OutboxMessage, route: str, index: int) -> bool:
        """Delivered before a crash or before a later part failed: not sent again."""
        return bool(self.redis.exists(sent_part_key(message.id, route, index)))

    def mark_part_sent(self, message: OutboxMessage, route: str, index: int) -> None:
        self.redis.set(sent_part_key(message.id, route, index), 1, ex=int(self.sent_ttl))

    def claimed_url(self, message: OutboxMessage) -> str | None:
        """The response_url this message claimed on an earlier attempt."""
        return cast(str | None, self.redis.get(ROUTE_PREFIX + message.id))

    def forget_url(self, message: OutboxMessage) -> None:
        self.redis.delete(ROUTE_PREFIX + message.id)

    # -- recording a message's fate (each in one MULTI with its removal from processing) ------------------
    def sent(self, raw: str, message: OutboxMessage) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(SENT_PREFIX + message.id, int(self.clock()), ex=int(self.sent_ttl))
            pipe.lrem(PROCESSING, 1, raw)
            pipe.delete(CLAIM_PREFIX + message.id, ROUTE_PREFIX + message.id)
            if message.reminder:
                count_event(pipe, "reminder_sent")
            pipe.execute()

    def finish(self, raw: str, dead: str | None = None) -> None:
        """Drop an entry (a duplicate), or dead-letter one that is not even a message."""
        with self.redis.pipeline(transaction=True) as pipe:
            if dead is not None:
                pipe.lpush(DEAD_LETTERS, dead)
            pipe.lrem(PROCESSING, 1, raw)
            pipe.execute()

    def delay(self, raw: str, message: OutboxMessage, ready_at: float, release: bool = True) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(DELAYED, {message.to_json(): ready_at})
            pipe.lrem(PROCESSING, 1, raw)
            if release:
                pipe.delete(CLAIM_PREFIX + message.id)
            pipe.execute()

    def dead(self, raw: str, message: OutboxMessage) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(DEAD_LETTERS, message.to_json())
            pipe.lrem(PROCESSING, 1, raw)
            pipe.delete(CLAIM_PREFIX + message.id, ROUTE_PREFIX + message.id)
            if message.reminder:
                count_event(pipe, "reminder_failed")
            pipe.execute()


def _message_id(raw: str) -> str | None:
    try:
        message_id = json.loads(raw).get("id")
    except (ValueError, TypeError, AttributeError):
        return None
    return message_id if isinstance(message_id, str) else None
