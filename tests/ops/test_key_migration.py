"""An upgrade over data written before the ``{wb}`` hash tag: every old ``wb:…`` key is found under its new
name at start, with its TTL and (for the event stream) its consumer group, once; nothing else moves.

The old data is real: a registration is run, then every key is renamed back to the old layout (only the
prefix differs between the layouts, ``tests/ops/test_keys.py`` pins both), plus keys written by hand.
"""

from __future__ import annotations

from bot.config import load_settings
from bot.core.key_migration import migrate_keys
from bot.core.keys import EVENTS_GROUP, EVENTS_STREAM, KEY_MIGRATION_DONE, OLD_PREFIX, PREFIX, lock_key, progress_key
from bot.core.store import Store
from bot.wiring.services import redis_client as start_client
from bot.worker.scheduler import APS_JOBS_KEY
from tests.support.phrases import STEP_2_MARKED_CURRENT


def _to_old_layout(client) -> list[str]:
    """Rename every key of ours back to ``wb:…``, as an install before the hash tag left them."""
    old = []
    for key in list(client.scan_iter(match=PREFIX + "*")):
        name = OLD_PREFIX + key[len(PREFIX):]
        client.rename(key, name)
        old.append(name)
    return old


def test_old_keys_are_renamed_and_the_conversation_goes_on(say, redis_client, settings):
    say("开始", user="old")
    assert "第2步" in say("完成", user="old")
    user = f"{settings.corp_id}:old"
    redis_client.xgroup_create(EVENTS_STREAM, EVENTS_GROUP, id="0")
    redis_client.set(lock_key("someone"), "holder", px=60_000)
    redis_client.hset(APS_JOBS_KEY, "cert:x", b"pickled")
    old = _to_old_layout(redis_client)
    assert OLD_PREFIX + "user:{" + user + "}" in old and len(old) > 5
    assert Store(redis_client).load(user) is None  # the new code does not see old data...
    redis_client.set("other:app:key", "not ours")

    assert migrate_keys(redis_client) == len(old)

    assert list(redis_client.scan_iter(match=OLD_PREFIX + "*")) == []
    assert Store(redis_client).load(user).step == 2  # ...until it is renamed
    assert STEP_2_MARKED_CURRENT in say("进度", user="old")
    assert 0 < redis_client.pttl(lock_key("someone")) <= 60_000  # the TTL came along
    assert [g["name"] for g in redis_client.xinfo_groups(EVENTS_STREAM)] == [EVENTS_GROUP]
    assert redis_client.hget(APS_JOBS_KEY, "cert:x") == "pickled"
    assert redis_client.get("other:app:key") == "not ours"
    assert redis_client.exists(KEY_MIGRATION_DONE)


def test_a_second_run_renames_nothing_and_a_taken_new_name_keeps_the_newer_data(redis_client):
    redis_client.set(OLD_PREFIX + "user:{c:u}", "old progress")
    redis_client.set(progress_key("c:v"), "new progress")
    redis_client.set(OLD_PREFIX + "user:{c:v}", "older progress")
    assert migrate_keys(redis_client) == 1
    assert redis_client.get(progress_key("c:u")) == "old progress"
    assert redis_client.get(progress_key("c:v")) == "new progress"
    assert redis_client.get(OLD_PREFIX + "user:{c:v}") == "older progress"  # kept for an operator to look at

    redis_client.set(OLD_PREFIX + "user:{c:w}", "written by an old process after the upgrade")
    assert migrate_keys(redis_client) == 0  # done once: later starts cost one EXISTS
    redis_client.delete(KEY_MIGRATION_DONE)
    assert migrate_keys(redis_client) == 1  # and a run cut short before its marker simply goes on
    assert migrate_keys(redis_client) == 0


def test_every_process_migrates_when_it_builds_its_client(redis_client, env):
    redis_client.set(OLD_PREFIX + "idx:users", "x")
    start_client(load_settings(env))  # what web, worker, long connection and CLI call at start
    assert redis_client.get(PREFIX + "idx:users") == "x" and not redis_client.exists(OLD_PREFIX + "idx:users")
