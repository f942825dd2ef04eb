"""Every Redis key the bot uses, named in one place; and the escaping of their variable parts.

Why one module: a key's layout is a storage format. Data already in Redis is found only while the
strings stay byte-identical (tests/ops/test_keys.py pins them), and a new key cannot collide with an old
one unnoticed when all of them sit side by side. Modules import their keys from here; none spells a
``wb:`` literal of its own.

A user id such as ``A}:aibot:mA:{Z`` must not reach into the key of another user's message: every
variable component that comes from outside goes through :func:`key_part`, which percent-escapes the
characters our key layouts use as structure (``:`` between parts, ``{}`` around the hash tag) and
``%`` itself. Ordinary WeCom ids contain none of them, so their keys read (and stay) exactly as before.
``user_key`` arguments are already escaped (``Incoming.user_key``, ``Progress.user_key``).

Every key starts with the hash tag ``{wb}`` (:data:`PREFIX`), so all of them hash to one Redis
Cluster slot. That is what keeps the bot atomic on a cluster: one handled message commits the user's
progress, the indexes, the event stream and the outbox in one MULTI, and Redis Cluster runs a MULTI or
a Lua script only over keys of one slot (``CROSSSLOT`` otherwise). The price: the bot's data lives on
one shard. The braces around a user key (``{corp:user}``) were the tag before ``{wb}``; they are kept
so that ``bot.core.key_migration`` maps an old key to its new name by its prefix alone.
"""

from __future__ import annotations

import re

_STRUCTURAL = re.compile(r"[%:{}\x00-\x20\x7f]")


def key_part(value: object) -> str:
    """One component, reversible and free of ``:``, ``{``, ``}``, spaces and control characters."""
    return _STRUCTURAL.sub(lambda m: f"%{ord(m.group()):02X}", str(value))


def key_parts(*values: object) -> str:
    """Components joined by ``:``, each escaped: distinct tuples give distinct strings."""
    return ":".join(key_part(v) for v in values)


PREFIX = "{wb}:"  # the hash tag: see the module docstring
OLD_PREFIX = "wb:"  # before the hash tag (bot.core.key_migration renames such keys)

# -- the message path (bot.core.store, bot.core.conversation) ---------------------------------------------------
EVENTS_STREAM = PREFIX + "events"  # every committed change, for the worker and the metrics
USERS_INDEX = PREFIX + "idx:users"  # user_key -> last_seen
CERT_PENDING_INDEX = PREFIX + "idx:cert_pending"  # user_key -> since
HANDOFF_INDEX = PREFIX + "idx:handoff"  # user_key -> when they asked for a person (bot.core.handoffs)
UNANSWERED = PREFIX + "unanswered"  # JSON records of low-confidence questions, newest first


def progress_key(user_key: str) -> str:
    return f"{PREFIX}user:{{{user_key}}}"


def lock_key(user_key: str) -> str:
    return f"{PREFIX}lock:{{{user_key}}}"


def reply_key(user_key: str, transport: str, msg_id: str) -> str:
    """The cached reply to one message; ``transport`` and ``msg_id`` are escaped here."""
    return f"{PREFIX}reply:{{{user_key}}}:{key_parts(transport, msg_id)}"


def rate_key(user_key: str, window: int) -> str:
    return f"{PREFIX}rate:{{{user_key}}}:{window}"


def step_index(step: int) -> str:
    """Users currently on ``step``, scored by last activity."""
    return f"{PREFIX}idx:step:{step}"


def step_since_index(step: int) -> str:
    """Users on ``step`` scored by when they entered it."""
    return f"{PREFIX}idx:step_since:{step}"


def conversation_key(user_key: str) -> str:
    """The transcript staff read on a user's page (bot.core.conversation)."""
    return f"{PREFIX}conv:{{{user_key}}}"


# -- the outbox and its sender (bot.outbound) -----------------------------------------------
OUTBOX_QUEUE = PREFIX + "outbox"  # list of JSON messages, oldest at the right
DEAD_LETTERS = OUTBOX_QUEUE + ":dead"  # messages that failed for good, with the error
OUTBOX_PROCESSING = OUTBOX_QUEUE + ":processing"  # taken by a sender thread, not yet done
OUTBOX_DELAYED = OUTBOX_QUEUE + ":delayed"  # ZSET scored by when a message may go
OUTBOX_SENT_PREFIX = OUTBOX_QUEUE + ":sent:"  # + message id (+ ":route:part" per part sent)
OUTBOX_CLAIM_PREFIX = OUTBOX_QUEUE + ":claim:"  # + message id: a sender is working on it
OUTBOX_ROUTE_PREFIX = OUTBOX_QUEUE + ":route:"  # + message id: the response_url it claimed
RATE_LIMIT_PREFIX = PREFIX + "rl:"  # per-destination send counters
LONGCONN_RATE_PREFIX = RATE_LIMIT_PREFIX + "ws:"  # + chat id + ":m" / ":h"
APP_RATE_PREFIX = RATE_LIMIT_PREFIX + "app:"  # + escaped member id + ":m" / ":h"
WEBHOOK_RATE_PREFIX = RATE_LIMIT_PREFIX + "webhook:"  # + robot digest


def sent_part_key(message_id: str, route: str, part: int) -> str:
    """One part of a split message sent on ``route``: a retry skips the parts WeCom has already."""
    return f"{OUTBOX_SENT_PREFIX}{message_id}:{route}:{part}"


def webhook_rate_key(robot: str) -> str:
    """``robot``: a digest of the webhook key (the key itself is a secret)."""
    return f"{WEBHOOK_RATE_PREFIX}{robot}"


def app_rate_key(user_id: str, period: str) -> str:
    """The app's message/send counter for one user; ``period`` is "m" (minute) or "h" (hour)."""
    return f"{APP_RATE_PREFIX}{key_part(user_id)}:{period}"


def longconn_rate_key(chat_id: str, period: str) -> str:
    """The long connection's send counter for one chat; ``period`` is "m" or "h"."""
    return f"{LONGCONN_RATE_PREFIX}{chat_id}:{period}"


# -- the worker (bot.worker) --------------------------------
EVENTS_GROUP = OLD_PREFIX + "worker"  # the consumer group on EVENTS_STREAM: a name, not a key (never renamed)
OCR_GROUP = PREFIX + "ocr"  # the OCR process's consumer group on EVENTS_STREAM (bot.ocr.reader)
OCR_TEXT_STREAM = PREFIX + "ocr:text"  # what the OCR process read, redacted, for the answerer (bot.ocr.handoff)
OCR_ANSWER_GROUP = PREFIX + "ocr:answer"  # the answerers' consumer group on OCR_TEXT_STREAM (bot.ocr.answers)
LEADER_KEY = PREFIX + "worker:leader"
EPOCH_KEY = PREFIX + "worker:epoch"  # incremented on every takeover: a fencing token
APS_JOBS_KEY = PREFIX + "aps:jobs"
APS_RUN_TIMES_KEY = PREFIX + "aps:run_times"
REMINDER_DONE_PREFIX = PREFIX + "rem:done:"  # + job id: that reminder went out


# -- WeCom (bot.channels) ------------------------------------------------------------------------------
def access_token_key(digest: str) -> str:
    """The cached access token of one (corp, secret); ``digest`` hides the secret."""
    return f"{PREFIX}wecom:token:{digest}"


def access_token_lock_key(digest: str) -> str:
    return access_token_key(digest) + ":lock"


def aibot_stream_key(stream_id: str) -> str:
    """An AI-bot stream WeCom polls for the answer."""
    return f"{PREFIX}stream:{stream_id}"


def aibot_answered_key(msg_id: str) -> str:
    """Set once the answer to a card click is queued."""
    return f"{PREFIX}aibot:answered:{msg_id}"


def longconn_holder_key(bot_id: str) -> str:
    """Who holds the bot's long connection (one process per bot)."""
    return f"{PREFIX}ws:holder:{bot_id}"


def longconn_holder_epoch_key(bot_id: str) -> str:
    return longconn_holder_key(bot_id) + ":epoch"


def longconn_kicked_key(bot_id: str) -> str:
    """Set when WeCom kicked the connection: nobody reconnects while it lives."""
    return f"{PREFIX}ws:kicked:{bot_id}"


def longconn_requests_key(bot_id: str) -> str:
    """Sends other processes relay to the holder."""
    return f"{PREFIX}ws:send:{bot_id}"


def longconn_reply_key(request_id: str) -> str:
    """The holder's answer to one relayed send."""
    return f"{PREFIX}ws:reply:{request_id}"


# -- the operator view and what it reads (bot.admin, bot.core.trends, bot.infra.metrics, bot.understand) -----------
ADMIN_SESSION_PREFIX = PREFIX + "admin:session:"  # + SHA-256 of the session id
LOGIN_FAILURES_PREFIX = PREFIX + "admin:login_fail:"  # + client address -> failures within the window
TREND_STARTED = PREFIX + "trend:started"  # day (YYYY-MM-DD) -> registrations started
TREND_FINISHED = PREFIX + "trend:finished"  # day -> registrations finished (all six steps)


def trend_step_durations_key(step: int) -> str:
    """``"<completed at>:<seconds on the step>"``, newest first."""
    return f"{PREFIX}trend:step:{step}"


METRICS_CALLBACKS = PREFIX + "metrics:callbacks"  # hash "transport|outcome" -> count
METRICS_LATENCY = PREFIX + "metrics:latency"  # hash "transport|le" -> count in that bucket; "transport|sum"
METRICS_EVENT_COUNTS = PREFIX + "metrics:events"  # hash event kind -> count
METRICS_EVENT_CURSOR = METRICS_EVENT_COUNTS + ":cursor"  # the last stream id folded into the counts
TEACH_EXAMPLES = PREFIX + "teach:examples"  # squashed text -> {"text", "label", "by", "at"}
TEACH_VERSION = PREFIX + "teach:version"
TEACH_TOPICS = PREFIX + "teach:topics"  # staff topic id -> {"id", "title", "answer", "step", "phrasings", ...}


# -- start-up (bot.core.key_migration) ------------------------------------------------------------------------
KEY_MIGRATION_DONE = PREFIX + "migrated:hash_tag"  # set once keys named OLD_PREFIX... were renamed


# -- 微信客服 (bot.channels.kf) ---------------------------------------------------------------------------------
# One kf account's pulling state is named under {kf:<open_kfid>}; the slot is still PREFIX's {wb} (Redis hashes the
# first braces), so the script ending a pull (bot.channels.kf.pull) and the MULTI that stores a reply stay in one slot.
KF_ACCOUNTS = PREFIX + "kf:accounts"  # open_kfid -> when it last had an event (the sweep and the admin page)
KF_SESSIONS_INDEX = PREFIX + "kf:idx:sessions"  # user_key -> when its session state last changed


def _kf_account(open_kfid: str) -> str:
    return f"{PREFIX}kf:{{kf:{key_part(open_kfid)}}}"


def kf_cursor_key(open_kfid: str) -> str:
    """sync_msg's next_cursor for one kf account (durable: without it WeCom replays 3 days)."""
    return _kf_account(open_kfid) + ":cursor"


def kf_pull_lock_key(open_kfid: str) -> str:
    """Held while one process reads a page and saves the cursor."""
    return _kf_account(open_kfid) + ":lock"


def kf_pull_requests_key(open_kfid: str) -> str:
    """Counts events asking for a pull; the holder pulls again until it has seen the latest count."""
    return _kf_account(open_kfid) + ":requests"


def kf_pull_served_key(open_kfid: str) -> str:
    """The request count the last finished pull had seen (less than the count: a pull is owed)."""
    return _kf_account(open_kfid) + ":served"


def kf_sync_token_key(open_kfid: str) -> str:
    """The latest callback Token (valid 10 minutes; lifts sync_msg's strict rate limit)."""
    return _kf_account(open_kfid) + ":token"


def kf_done_key(open_kfid: str, msgid: str) -> str:
    """One sync_msg message handled (kept as long as WeCom can return it: 3 days)."""
    return _kf_account(open_kfid) + ":done:" + key_part(msgid)


def kf_window_key(user_key: str) -> str:
    """The 48 h / 5 messages window of one customer: when it opened, how many sent, which messages."""
    return f"{PREFIX}kf:window:{{{user_key}}}"


def kf_session_key(user_key: str) -> str:
    """The customer's session state as last known (0-4), the receptionist, since when."""
    return f"{PREFIX}kf:session:{{{user_key}}}"


def kf_welcomed_key(user_key: str) -> str:
    """Set when the customer was welcomed (48 h): enter_session again within it gets no second welcome."""
    return f"{PREFIX}kf:welcomed:{{{user_key}}}"


def kf_media_key(user_key: str) -> str:
    """media_ids of what the customer sent (images, files), newest first, kept while WeCom keeps them."""
    return f"{PREFIX}kf:media:{{{user_key}}}"


def kf_sent_key(msgid: str) -> str:
    """Our kf msgid -> the outbox message it carried (msg_send_fail names the msgid)."""
    return f"{PREFIX}kf:sent:{key_part(msgid)}"
