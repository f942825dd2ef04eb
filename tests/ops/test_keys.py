"""Redis key layouts are a storage format: the strings must not change, or data already in Redis is
lost from sight (the one change so far, ``wb:`` to the hash tag ``{wb}:``, comes with bot.core.key_migration).
And they are named in one module (bot.core.keys), so no other module spells a ``{wb}:`` key."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from redis.crc import key_slot

from bot.core import keys

ROOT = Path(__file__).resolve().parents[2]
USER = "wwcorp:zhang%3Asan"  # an escaped user key, as Incoming.user_key makes it


def test_the_message_paths_keys_are_byte_identical_to_the_stored_ones():
    assert (keys.EVENTS_STREAM, keys.USERS_INDEX, keys.CERT_PENDING_INDEX, keys.HANDOFF_INDEX, keys.UNANSWERED) == (
        "{wb}:events", "{wb}:idx:users", "{wb}:idx:cert_pending", "{wb}:idx:handoff", "{wb}:unanswered")
    assert keys.progress_key(USER) == "{wb}:user:{wwcorp:zhang%3Asan}"
    assert keys.lock_key(USER) == "{wb}:lock:{wwcorp:zhang%3Asan}"
    assert keys.reply_key(USER, "aibot", "m:1") == "{wb}:reply:{wwcorp:zhang%3Asan}:aibot:m%3A1"
    assert keys.rate_key(USER, 7) == "{wb}:rate:{wwcorp:zhang%3Asan}:7"
    assert keys.step_index(3) == "{wb}:idx:step:3"
    assert keys.step_since_index(4) == "{wb}:idx:step_since:4"
    assert keys.conversation_key(USER) == "{wb}:conv:{wwcorp:zhang%3Asan}"


def test_the_outbox_and_worker_keys_are_byte_identical_to_the_stored_ones():
    assert (keys.OUTBOX_QUEUE, keys.DEAD_LETTERS, keys.OUTBOX_PROCESSING, keys.OUTBOX_DELAYED) == (
        "{wb}:outbox", "{wb}:outbox:dead", "{wb}:outbox:processing", "{wb}:outbox:delayed")
    assert keys.OUTBOX_SENT_PREFIX + "id1" == "{wb}:outbox:sent:id1"
    assert keys.sent_part_key("id1", "app", 0) == "{wb}:outbox:sent:id1:app:0"
    assert keys.OUTBOX_CLAIM_PREFIX + "id1" == "{wb}:outbox:claim:id1"
    assert keys.OUTBOX_ROUTE_PREFIX + "id1" == "{wb}:outbox:route:id1"
    assert keys.webhook_rate_key("ab12") == "{wb}:rl:webhook:ab12"
    assert keys.app_rate_key("zhang:san", "m") == "{wb}:rl:app:zhang%3Asan:m"
    assert keys.longconn_rate_key("chat1", "h") == "{wb}:rl:ws:chat1:h"
    assert (keys.EVENTS_GROUP, keys.LEADER_KEY, keys.EPOCH_KEY) == (
        "wb:worker", "{wb}:worker:leader", "{wb}:worker:epoch")
    assert (keys.APS_JOBS_KEY, keys.APS_RUN_TIMES_KEY) == ("{wb}:aps:jobs", "{wb}:aps:run_times")
    assert keys.REMINDER_DONE_PREFIX + "cert:u" == "{wb}:rem:done:cert:u"


def test_the_wecom_and_operator_keys_are_byte_identical_to_the_stored_ones():
    assert keys.access_token_key("d1") == "{wb}:wecom:token:d1"
    assert keys.access_token_lock_key("d1") == "{wb}:wecom:token:d1:lock"
    assert keys.aibot_stream_key("s1") == "{wb}:stream:s1"
    assert keys.aibot_answered_key("m1") == "{wb}:aibot:answered:m1"
    assert keys.longconn_holder_key("b1") == "{wb}:ws:holder:b1"
    assert keys.longconn_holder_epoch_key("b1") == "{wb}:ws:holder:b1:epoch"
    assert keys.longconn_kicked_key("b1") == "{wb}:ws:kicked:b1"
    assert keys.longconn_requests_key("b1") == "{wb}:ws:send:b1"
    assert keys.longconn_reply_key("r1") == "{wb}:ws:reply:r1"
    assert (keys.ADMIN_SESSION_PREFIX, keys.LOGIN_FAILURES_PREFIX) == ("{wb}:admin:session:", "{wb}:admin:login_fail:")
    assert (keys.TREND_STARTED, keys.TREND_FINISHED, keys.trend_step_durations_key(2)) == (
        "{wb}:trend:started", "{wb}:trend:finished", "{wb}:trend:step:2")
    assert (keys.METRICS_CALLBACKS, keys.METRICS_LATENCY, keys.METRICS_EVENT_COUNTS, keys.METRICS_EVENT_CURSOR) == (
        "{wb}:metrics:callbacks", "{wb}:metrics:latency", "{wb}:metrics:events", "{wb}:metrics:events:cursor")
    assert (keys.TEACH_EXAMPLES, keys.TEACH_VERSION) == ("{wb}:teach:examples", "{wb}:teach:version")
    assert (keys.OLD_PREFIX, keys.KEY_MIGRATION_DONE) == ("wb:", "{wb}:migrated:hash_tag")


def _every_key() -> list[str]:
    """One key of each layout bot.core.keys defines: its constants, and each builder called."""
    found = [value for name, value in vars(keys).items()
             if name.isupper() and isinstance(value, str) and value.startswith(keys.PREFIX)]
    for name, builder in vars(keys).items():
        if callable(builder) and getattr(builder, "__module__", "") == keys.__name__ and not name.startswith("key_"):
            arity = builder.__code__.co_argcount
            found.append(builder(*(["x}:{y", "app", 3][:arity] if name != "sent_part_key" else ["i", "app", 0])))
    return found


def test_every_key_hashes_to_the_one_cluster_slot_of_the_prefix_tag():
    """Redis Cluster refuses a MULTI or a script over keys of several slots (CROSSSLOT): all ours share one."""
    every = _every_key()
    assert len(every) > 40
    assert {key_slot(key.encode()) for key in every} == {key_slot(b"wb")}


def test_the_kf_keys_are_byte_identical_to_the_stored_ones():
    assert (keys.KF_ACCOUNTS, keys.KF_SESSIONS_INDEX) == ("{wb}:kf:accounts", "{wb}:kf:idx:sessions")
    assert keys.kf_cursor_key("wk:1") == "{wb}:kf:{kf:wk%3A1}:cursor"
    assert keys.kf_pull_lock_key("wk1") == "{wb}:kf:{kf:wk1}:lock"
    assert keys.kf_pull_requests_key("wk1") == "{wb}:kf:{kf:wk1}:requests"
    assert keys.kf_pull_served_key("wk1") == "{wb}:kf:{kf:wk1}:served"
    assert keys.kf_sync_token_key("wk1") == "{wb}:kf:{kf:wk1}:token"
    assert keys.kf_done_key("wk1", "m:1") == "{wb}:kf:{kf:wk1}:done:m%3A1"
    assert keys.kf_window_key(USER) == "{wb}:kf:window:{wwcorp:zhang%3Asan}"
    assert keys.kf_session_key(USER) == "{wb}:kf:session:{wwcorp:zhang%3Asan}"
    assert keys.kf_welcomed_key(USER) == "{wb}:kf:welcomed:{wwcorp:zhang%3Asan}"
    assert keys.kf_media_key(USER) == "{wb}:kf:media:{wwcorp:zhang%3Asan}"
    assert keys.kf_sent_key("m1") == "{wb}:kf:sent:m1"


def _key_literals(path: Path) -> list[str]:
    """String constants that look like one of our keys (docstrings aside: they may name keys)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and node.value.startswith(("wb:", "{wb}:"))]


def test_no_module_but_bot_keys_names_a_redis_key():
    found = [hit for folder in ("bot", "handlers") for path in sorted((ROOT / folder).rglob("*.py"))
             if path != ROOT / "bot" / "core" / "keys.py" for hit in _key_literals(path)]
    assert found == []


_CALL = re.compile(r"redis\.call\(\s*'(\w+)'\s*(?:,\s*([^,)]+))?")
_KEYLESS = {"TIME", "PING", "ECHO"}  # commands whose first argument is not a key


def _lua_scripts() -> list[tuple[str, str]]:
    """(where, source) of every Lua script in bot/ and handlers/: string constants that call redis."""
    found = []
    for folder in ("bot", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and "redis.call(" in node.value:
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value))
    return found


def test_every_key_a_lua_script_touches_comes_from_KEYS():
    """A cluster routes a script by its KEYS and refuses undeclared keys of other slots: a script names no
    key of its own (no ``'{wb}:…'`` literal, no key built from ARGV), only ``KEYS[i]`` or a loop over KEYS."""
    scripts = _lua_scripts()
    assert len(scripts) >= 7  # store, locking (2), metrics, pacing, inflight, queue, aibot callback
    wrong = []
    for where, source in scripts:
        loops_over_keys = re.search(r"for\s+\w+\s*,\s*(\w+)\s+in\s+ipairs\(KEYS\)", source)
        for command, first in _CALL.findall(source):
            first = first.strip()
            ok = (command.upper() in _KEYLESS or re.fullmatch(r"KEYS\[\d+\]", first)
                  or (loops_over_keys and first == loops_over_keys.group(1)))
            if not ok:
                wrong.append(f"{where}: redis.call('{command}', {first} ...)")
    assert wrong == []
