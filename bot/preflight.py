"""Everything ``python -m bot check`` validates, and ``serve`` refuses to start without.

Each process reads its own settings when it starts (the worker its reminder and sender settings,
the web process its admin ones), so a typo used to surface as a worker traceback minutes after a
banner that said all was well. Here every setting is parsed once, up front, the data files and
templates are compiled, and Redis is reached: what passes here starts.
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.config import ConfigError, Settings, load_settings

# Numeric tuning knobs and their allowed range: (name, minimum) — seconds, counts and hours.
NUMBERS = {
    "ADMIN_SESSION_HOURS": 0.01, "ADMIN_STUCK_HOURS": 0, "WECOM_HTTP_TIMEOUT": 0.01, "WEBHOOK_RATE_LIMIT": 1,
    "USER_LOCK_WAIT_SECONDS": 0, "SENT_TTL": 1, "SEND_SWEEP_SECONDS": 0, "SEND_MAX_ATTEMPTS": 1,
    "SEND_CLAIM_TTL": 0.1, "SEND_BACKOFF_MAX": 0, "SEND_BACKOFF_BASE": 0, "SENDER_THREADS": 1, "WORKER_THREADS": 1,
    "REMINDER_RETRY": 0.1, "REMINDER_GRACE": 0, "RATE_WINDOW": 0.1, "RATE_MARGIN": 0, "RATE_LIMIT_PER_MINUTE": 0,
    "RATE_HOURLY_WINDOW": 0.1, "NOTICE_MAX_AGE": 0, "METRICS_FLUSH_SECONDS": 0, "LEADER_TTL": 1, "LEADER_POLL": 0.05,
    "CERT_CHECK_DELAY": 0, "CERT_ESCALATE_DELAY": -math.inf, "APP_RATE_LIMIT": 1, "APP_HOURLY_LIMIT": 1,
    "APP_DUPLICATE_CHECK_SECONDS": 0,
}
REDIS_SCHEMES = ("redis", "rediss", "unix")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def validate_settings(settings: Settings) -> None:
    """Raise ConfigError naming the first setting no process could run with."""
    for name, minimum in NUMBERS.items():
        value = settings.seconds(name, 0.0 if minimum <= 0 else minimum)
        if not math.isfinite(value) or value < minimum:
            raise ConfigError(f"{name} must be a finite number >= {minimum:g}, got {settings.get(name)!r}")
    from bot.reminders import ReminderConfig
    from bot.sender import SenderConfig

    ReminderConfig.from_settings(settings)  # QUIET_HOURS, REMINDER_TZ, CERT_FOLLOWUPS, IDLE_NUDGES
    SenderConfig.from_settings(settings)
    if settings.get("ADMIN_TIMEZONE"):
        try:
            ZoneInfo(settings.get("ADMIN_TIMEZONE") or "")
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError
            raise ConfigError(f"ADMIN_TIMEZONE is not a known time zone: {settings.get('ADMIN_TIMEZONE')!r}") from exc
    level = (settings.get("LOG_LEVEL") or "INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {settings.get('LOG_LEVEL')!r}")
    secure = (settings.get("ADMIN_COOKIE_SECURE") or "auto").strip().lower()
    if secure not in ("auto", "", "1", "0", "true", "false", "yes", "no"):
        raise ConfigError(f"ADMIN_COOKIE_SECURE must be auto, 1 or 0, got {settings.get('ADMIN_COOKIE_SECURE')!r}")
    if settings.redis_url:
        validate_redis_url(settings.redis_url)
    for name in ("WECOM_API_BASE", "WECOM_RESPONSE_URL_ORIGINS"):
        for url in filter(None, (u.strip() for u in (settings.get(name) or "").split(","))):
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
                raise ConfigError(f"{name} must be http(s) URLs, got {url!r}")


def validate_redis_url(url: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in REDIS_SCHEMES:
        raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or unix://, got {scheme or url!r}://…")


def reach_redis(url: str) -> None:
    """Raise ConfigError when Redis does not answer a PING within 2 s (the message hides the password)."""
    import redis

    from bot.redis_conn import connect

    try:
        connect(url, socket_timeout=2.0).ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        where = re.sub(r"//[^@/]*@", "//***@", url)
        raise ConfigError(f"cannot reach Redis at {where}: {type(exc).__name__}: {exc}") from exc


def validate_files(settings: Settings) -> int:
    """Compile the guide, the knowledge base, the understanding data (training the model) and every template,
    and check the phrases templates prompt are understood; returns FAQ topics."""
    from bot.config import longconn_settings
    from bot.guide import Guide
    from bot.render import Renderer
    from bot.services import load_knowledge
    from bot.understand.check import missing_answers, unreadable_prompts
    from bot.understand.factory import build_understander

    Guide.load(settings.guide_file)
    longconn_settings(settings)  # WECOM_BOT_ID / WECOM_BOT_SECRET together, WECOM_WS_URL ws:// or wss://
    knowledge = load_knowledge(settings)
    understander = build_understander(knowledge)  # validates data/understanding and trains the model
    env = Renderer(settings.templates_dir).env
    for name in env.list_templates():
        env.get_template(name)  # compiles: a syntax error names the file and line
    missing = missing_answers(settings.templates_dir, understander)
    if missing:
        raise ValueError("data/understanding/intents.yaml answers commands with templates that do not exist: "
                         + ", ".join(missing))
    unread = unreadable_prompts(settings.templates_dir, understander)
    if unread:
        raise ValueError("templates tell users to type phrases the bot does not understand: "
                         + "; ".join(f"{name}: 「{phrase}」 reads as {got}" for name, phrase, got in unread))
    return len(knowledge.topics)


def preflight(*, reach: bool = True) -> tuple[Settings, int]:
    """Load and validate everything; ``reach``: also PING Redis when REDIS_URL is set."""
    import jinja2
    import yaml

    try:
        settings = load_settings()
        validate_settings(settings)
        topics = validate_files(settings)
    except (ValueError, KeyError, re.error, yaml.YAMLError, jinja2.TemplateError) as exc:
        raise ConfigError(str(exc)) from exc
    if reach and settings.redis_url:
        reach_redis(settings.redis_url)
    return settings, topics
