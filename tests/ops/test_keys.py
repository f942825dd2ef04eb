"""Redis key layouts are a storage format: the strings must not change, or data already in Redis is
lost from sight. And they are named in one module (bot.keys), so no other module spells a ``wb:`` key."""

from __future__ import annotations

import ast
from pathlib import Path

from bot import keys

ROOT = Path(__file__).resolve().parents[2]
USER = "wwcorp:zhang%3Asan"  # an escaped user key, as Incoming.user_key makes it


def test_the_message_paths_keys_are_byte_identical_to_the_stored_ones():
    assert (keys.EVENTS_STREAM, keys.USERS_INDEX, keys.CERT_PENDING_INDEX, keys.HANDOFF_INDEX, keys.UNANSWERED) == (
        "wb:events", "wb:idx:users", "wb:idx:cert_pending", "wb:idx:handoff", "wb:unanswered")
    assert keys.progress_key(USER) == "wb:user:{wwcorp:zhang%3Asan}"
    assert keys.lock_key(USER) == "wb:lock:{wwcorp:zhang%3Asan}"
    assert keys.reply_key(USER, "aibot", "m:1") == "wb:reply:{wwcorp:zhang%3Asan}:aibot:m%3A1"
    assert keys.rate_key(USER, 7) == "wb:rate:{wwcorp:zhang%3Asan}:7"
    assert keys.step_index(3) == "wb:idx:step:3"
    assert keys.step_since_index(4) == "wb:idx:step_since:4"
    assert keys.conversation_key(USER) == "wb:conv:{wwcorp:zhang%3Asan}"


def test_the_outbox_and_worker_keys_are_byte_identical_to_the_stored_ones():
    assert (keys.OUTBOX_QUEUE, keys.DEAD_LETTERS, keys.OUTBOX_PROCESSING, keys.OUTBOX_DELAYED) == (
        "wb:outbox", "wb:outbox:dead", "wb:outbox:processing", "wb:outbox:delayed")
    assert keys.OUTBOX_SENT_PREFIX + "id1" == "wb:outbox:sent:id1"
    assert keys.sent_part_key("id1", "app", 0) == "wb:outbox:sent:id1:app:0"
    assert keys.OUTBOX_CLAIM_PREFIX + "id1" == "wb:outbox:claim:id1"
    assert keys.OUTBOX_ROUTE_PREFIX + "id1" == "wb:outbox:route:id1"
    assert keys.webhook_rate_key("ab12") == "wb:rl:webhook:ab12"
    assert keys.app_rate_key("zhang:san", "m") == "wb:rl:app:zhang%3Asan:m"
    assert keys.longconn_rate_key("chat1", "h") == "wb:rl:ws:chat1:h"
    assert (keys.EVENTS_GROUP, keys.LEADER_KEY, keys.EPOCH_KEY) == ("wb:worker", "wb:worker:leader", "wb:worker:epoch")
    assert (keys.APS_JOBS_KEY, keys.APS_RUN_TIMES_KEY) == ("wb:aps:jobs", "wb:aps:run_times")
    assert keys.REMINDER_DONE_PREFIX + "cert:u" == "wb:rem:done:cert:u"


def test_the_wecom_and_operator_keys_are_byte_identical_to_the_stored_ones():
    assert keys.access_token_key("d1") == "wb:wecom:token:d1"
    assert keys.access_token_lock_key("d1") == "wb:wecom:token:d1:lock"
    assert keys.aibot_stream_key("s1") == "wb:stream:s1"
    assert keys.aibot_answered_key("m1") == "wb:aibot:answered:m1"
    assert keys.longconn_holder_key("b1") == "wb:ws:holder:b1"
    assert keys.longconn_holder_epoch_key("b1") == "wb:ws:holder:b1:epoch"
    assert keys.longconn_kicked_key("b1") == "wb:ws:kicked:b1"
    assert keys.longconn_requests_key("b1") == "wb:ws:send:b1"
    assert keys.longconn_reply_key("r1") == "wb:ws:reply:r1"
    assert keys.longconn_last_group_key("b1") == "wb:ws:last_group:b1"
    assert (keys.ADMIN_SESSION_PREFIX, keys.LOGIN_FAILURES_PREFIX) == ("wb:admin:session:", "wb:admin:login_fail:")
    assert (keys.TREND_STARTED, keys.TREND_FINISHED, keys.trend_step_durations_key(2)) == (
        "wb:trend:started", "wb:trend:finished", "wb:trend:step:2")
    assert (keys.METRICS_CALLBACKS, keys.METRICS_LATENCY, keys.METRICS_EVENT_COUNTS, keys.METRICS_EVENT_CURSOR) == (
        "wb:metrics:callbacks", "wb:metrics:latency", "wb:metrics:events", "wb:metrics:events:cursor")
    assert (keys.TEACH_EXAMPLES, keys.TEACH_VERSION) == ("wb:teach:examples", "wb:teach:version")


def test_the_kf_keys_are_byte_identical_to_the_stored_ones():
    assert (keys.KF_ACCOUNTS, keys.KF_SESSIONS_INDEX) == ("wb:kf:accounts", "wb:kf:idx:sessions")
    assert keys.kf_cursor_key("wk:1") == "wb:kf:{kf:wk%3A1}:cursor"
    assert keys.kf_pull_lock_key("wk1") == "wb:kf:{kf:wk1}:lock"
    assert keys.kf_pull_requests_key("wk1") == "wb:kf:{kf:wk1}:requests"
    assert keys.kf_pull_served_key("wk1") == "wb:kf:{kf:wk1}:served"
    assert keys.kf_sync_token_key("wk1") == "wb:kf:{kf:wk1}:token"
    assert keys.kf_done_key("wk1", "m:1") == "wb:kf:{kf:wk1}:done:m%3A1"
    assert keys.kf_window_key(USER) == "wb:kf:window:{wwcorp:zhang%3Asan}"
    assert keys.kf_session_key(USER) == "wb:kf:session:{wwcorp:zhang%3Asan}"
    assert keys.kf_welcomed_key(USER) == "wb:kf:welcomed:{wwcorp:zhang%3Asan}"
    assert keys.kf_media_key(USER) == "wb:kf:media:{wwcorp:zhang%3Asan}"
    assert keys.kf_sent_key("m1") == "wb:kf:sent:m1"


def _key_literals(path: Path) -> list[str]:
    """String constants that look like one of our keys (docstrings aside: they may name keys)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and node.value.startswith("wb:")]


def test_no_module_but_bot_keys_names_a_redis_key():
    found = [hit for folder in ("bot", "handlers") for path in sorted((ROOT / folder).rglob("*.py"))
             if path != ROOT / "bot" / "keys.py" for hit in _key_literals(path)]
    assert found == []
