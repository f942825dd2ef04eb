"""The outbox in Redis: the lists a message moves through, its claim, its sent markers, its dead letter.

- ``{wb}:outbox`` (oldest at the right) → ``{wb}:outbox:processing`` while a sender works on it (LMOVE/BLMOVE)
  → removed only in the same MULTI that records its fate: sent (a "sent" marker), delayed
  (``{wb}:outbox:delayed``, a ZSET scored by when it may go), or dead (``{wb}:outbox:dead``, with the error).
- A worker that dies leaves its message in processing; the next leader moves it back, and the leader
  sweeps the list for entries a live worker stranded (``bot.outbound.inflight``).
- A claim (``{wb}:outbox:claim:<id>``, SET NX PX): two copies of one message never go out concurrently.
  Each acknowledged part gets a marker at once (``{wb}:outbox:sent:<id>:<route>:<n>``), the message one
  (``{wb}:outbox:sent:<id>``) with its removal; a copy whose id is marked sent is dropped.

Producers, the admin pages and the metrics need only these names and ``add``: this module imports
nothing else (``bot.core.store`` imports it, and the sender's side imports the store).
"""

from __future__ import annotations

from bot.core.keys import DEAD_LETTERS, OUTBOX_QUEUE
from bot.core.keys import OUTBOX_CLAIM_PREFIX as CLAIM_PREFIX
from bot.core.keys import OUTBOX_DELAYED as DELAYED
from bot.core.keys import OUTBOX_PROCESSING as PROCESSING
from bot.core.keys import OUTBOX_ROUTE_PREFIX as ROUTE_PREFIX  # the response_url a message claimed (survives a crash)
from bot.core.keys import OUTBOX_SENT_PREFIX as SENT_PREFIX
from bot.outbound.entry import OutboxMessage

__all__ = ["CLAIM_PREFIX", "DEAD_LETTERS", "DELAYED", "OUTBOX_QUEUE", "PROCESSING", "ROUTE_PREFIX", "SENT_PREFIX",
           "add"]

# Move an entry from one list to another only if it is still there (its owner may just have taken
# it): LREM the old form, then push the new form to the left (newest, like ``add``) or the right
# (next to be sent). Used to retry a dead letter and to return a message stranded mid-send.
MOVE_IF_PRESENT = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  if ARGV[3] == 'head' then redis.call('RPUSH', KEYS[2], ARGV[2]) else redis.call('LPUSH', KEYS[2], ARGV[2]) end
  return 1
end
return 0
"""


def add(pipe, message: OutboxMessage) -> None:
    """Queue ``message`` on a Redis pipeline (or client) — call inside the producer's MULTI."""
    pipe.lpush(OUTBOX_QUEUE, message.to_json())
