"""One typed configuration: parsed in bot.config, one boolean parser, one composition root for every process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, env_value, load_settings, parse_bool, validate
from tests.support.environment import make_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw, value", [("1", True), ("true", True), ("Yes", True), ("ON", True),
                                        ("0", False), ("false", False), ("no", False), ("Off", False)])
def test_one_boolean_parser(raw, value):
    assert parse_bool("X", raw) is value


@pytest.mark.parametrize("name", ["GROUP_NOTICES", "ADMIN_COOKIE_SECURE", "FAQ_SEMANTIC", "FAQ_EMBED_IN_BACKGROUND"])
def test_every_boolean_refuses_what_it_cannot_read_naming_the_variable(tmp_path, name):
    with pytest.raises(ConfigError, match=name):
        load_settings(make_env(tmp_path, **{name: "maybe"}))


def test_booleans_read_the_same_everywhere(tmp_path):
    settings = load_settings(make_env(tmp_path, GROUP_NOTICES="off", ADMIN_COOKIE_SECURE="yes", FAQ_SEMANTIC="no"))
    assert (settings.group_notices, settings.admin_cookie_secure, settings.faq_semantic) == (False, True, False)
    assert load_settings(make_env(tmp_path, ADMIN_COOKIE_SECURE="auto")).admin_cookie_secure is None


@pytest.mark.parametrize("name, raw", [
    ("SEND_MAX_ATTEMPTS", "12.5"),  # a count is an integer, not "seconds"
    ("WORKER_THREADS", "eight"),
    ("WS_MAX_MISSED_ACKS", "2.0"),
    ("ADMIN_STUCK_HOURS", "a day"),
    ("USER_LOCK_WAIT_SECONDS", "soon"),
    ("CERT_FOLLOWUPS", "daily"),
    ("QUIET_HOURS", "night"),
    ("REMINDER_TZ", "Mars/Base"),
    ("LOG_LEVEL", "loud"),
])
def test_a_malformed_value_is_refused_at_start_naming_the_variable(tmp_path, name, raw):
    with pytest.raises(ConfigError, match=name):
        load_settings(make_env(tmp_path, **{name: raw}))


def test_ranges_are_checked_by_validate_as_check_does(tmp_path):
    settings = load_settings(make_env(tmp_path, LEADER_TTL="0.5"))  # a process still starts with it...
    assert settings.leader_ttl == 0.5
    with pytest.raises(ConfigError, match="LEADER_TTL"):  # ... `check` and `serve` refuse it
        validate(settings)
    validate(load_settings(make_env(tmp_path)))


def test_env_value_reads_one_setting_without_demo_credentials(tmp_path):
    assert env_value("port", {"PORT": "9090"}) == 9090
    assert env_value("web_worker_class", {}) == "gevent"
    assert env_value("faq_semantic", {"FAQ_SEMANTIC": "off"}) is False
    assert not (tmp_path / "demo-credentials.json").exists()


def test_settings_have_no_string_keyed_reads():
    assert not hasattr(Settings, "get") and not hasattr(Settings, "seconds")
    reads = re.compile(r"os\.environ\.get|os\.environ\[|getenv\(")
    offenders = [str(path.relative_to(ROOT)) for folder in ("bot", "handlers") for path in (ROOT / folder).rglob("*.py")
                 if path.name != "config.py" and reads.search(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_worker_builds_what_the_web_process_builds(tmp_path, redis_client):
    """One composition root: the worker's store waits USER_LOCK_WAIT_SECONDS for a user's lock, as the web's."""
    from bot.web.app import create_app
    from bot.worker.process import Worker

    settings = load_settings(make_env(tmp_path, USER_LOCK_WAIT_SECONDS="0.7", USER_LOCK_SECONDS="4"))
    web = create_app(settings, client=redis_client).extensions["weda"].services.store
    worker = Worker(settings, redis_client).store
    assert (worker.lock_wait, worker.lock_timeout, worker.reply_ttl) == (web.lock_wait, web.lock_timeout, web.reply_ttl)
    assert worker.lock_wait == 0.7


def test_handlers_get_no_store_and_no_redis():
    """Handlers decide; the pipeline loads and saves: their dependencies (HandlerServices) hold neither."""
    from handlers.context import HandlerServices

    members = {name for name in vars(HandlerServices) if not name.startswith("_")}
    assert members == {"guide", "knowledge", "support_staff", "handoff_timeout", "cert_check", "can_message_privately"}
    for path in (ROOT / "handlers").glob("*.py"):
        assert not re.search(r"\.store\b|\.redis\b|\.renderer\b", path.read_text(encoding="utf-8")), path.name


@pytest.mark.parametrize("name, raw", [
    ("CERT_CHECK_DELAY", "99999999999"),  # 3,000 years: a typo, not a plan
    ("CERT_FOLLOWUPS", "1800,99999999"),  # each element of a list of delays
    ("IDLE_NUDGES", "-5"),
    ("HANDOFF_TIMEOUT", "-1"),
    ("SEND_BACKOFF_MAX", str(31 * 86400)),
    ("ADMIN_SESSION_HOURS", "100000"),
    ("WS_PING_INTERVAL", "-30"),
    ("ADMIN_TOKEN", "a"),  # a one-character operator password
    ("ADMIN_TOKEN", "aaaaaaaaaaaaaaaaaaaaaaaa"),  # long but one character: little entropy
])
def test_check_refuses_nonsense_naming_the_variable(tmp_path, name, raw):
    with pytest.raises(ConfigError, match=name):
        validate(load_settings(make_env(tmp_path, **{name: raw})))


def test_check_accepts_the_edges_of_sane(tmp_path):
    validate(load_settings(make_env(tmp_path, CERT_CHECK_DELAY=str(30 * 86400), HANDOFF_TIMEOUT="0",
                                    CERT_ESCALATE_DELAY="-1", ADMIN_TOKEN="Kq3v-9xZ_p2LmT7w")))


def test_every_duration_has_an_upper_bound():
    """A new delay or timeout gets the 30-day ceiling too: declare it with ``_seconds``."""
    from bot.config import env_fields

    unbounded = [var.names[0] for _attr, (_f, var) in env_fields().items()
                 if var.names[0].endswith(("_SECONDS", "_DELAY", "_TIMEOUT", "_TTL", "_HOURS", "_WAIT", "_NUDGES",
                                           "_FOLLOWUPS", "_INTERVAL", "_GRACE", "_AGE", "_RETRY"))
                 and var.maximum is None and var.names[0] != "QUIET_HOURS"]  # a time range, not a duration
    assert unbounded == []
