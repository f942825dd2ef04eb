"""Configuration: one typed ``Settings``, read from the environment only, parsed in one place.

Every variable any process reads is a field of ``Settings`` whose metadata names the variable, its
parser and its allowed range; ``load_settings`` parses them all at start and ``validate`` checks the
ranges (``python -m bot check``, ``serve``); docs/configuration.md's tables list the same set
(``tests/ops/test_config_docs.py`` keeps them in step). Typed frozen dataclasses rather than
pydantic-settings: no new dependency for every process (the CLI tools included), and the messages
stay ours ("X must be an integer, got 'abc'"), naming the variable as the checks and tests expect.

A part that reads a few settings in its own shape (``ReminderConfig``, ``SenderConfig``,
``LongConnSettings``) is a *view*: its fields name the Settings field they show (``view``) or say
what they are computed from (``derived``), and have no defaults of their own, so each default is
written once, here (``tests/ops/test_settings_once.py``).

Every WeCom credential comes from the environment (never from a file in the repo). Without any,
the bot runs in *demo mode* with throwaway callback credentials (``bot.demo.credentials``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time as dtime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.infra.resources import default_data_dir, resource_dir

if TYPE_CHECKING:
    from bot.infra.redis_conn import RedisTarget

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the checkout; installed, bot.infra.resources finds the files

DEMO_CORP_ID = "wwdemocorp0000000"
DEMO_AGENT_ID = 1000002


class ConfigError(ValueError):
    """The environment is missing or misstates something; the message says which variable."""


@dataclass(frozen=True)
class CallbackCredentials:
    """Token + EncodingAESKey (+ receive id) of one WeCom callback surface."""

    token: str = field(repr=False)
    encoding_aes_key: str = field(repr=False)
    receive_id: str = ""


# -- how one variable is read ---------------------------------------------------------------------------
Parser = Callable[[str, str], Any]  # (variable name, its stripped non-empty value) -> the field's value


@dataclass(frozen=True)
class EnvVar:
    """The environment variable(s) behind one Settings field, how to parse it, and its allowed range.

    ``parse`` None: ``load_settings`` derives the field from these variables itself (credentials, demo mode).
    ``minimum`` / ``maximum``: checked by ``validate`` (``python -m bot check``, ``serve``), as before: a process
    given an out-of-range value still starts, one given a malformed one does not. A list of seconds is checked
    element by element.
    """

    names: tuple[str, ...]
    parse: Parser | None = None
    minimum: float | None = None
    maximum: float | None = None


def _var(*names: str, parse: Parser | None = None, minimum: float | None = None,
         maximum: float | None = None) -> dict[str, EnvVar]:
    """A Settings field's metadata: the variable(s) it comes from, how it is parsed, its range."""
    return {"env": EnvVar(names, parse, minimum, maximum)}


# A delay or timeout longer than this is a typo (99999999999 s is 3,000 years), not a plan: ``check`` refuses it.
MAX_SECONDS = 30 * 86400.0
MAX_HOURS = MAX_SECONDS / 3600
# The operator password: long enough that the login throttle makes guessing it hopeless.
ADMIN_TOKEN_MIN_LENGTH = 16
ADMIN_TOKEN_MIN_DISTINCT = 8


def _seconds(*names: str, parse: Parser | None = None, minimum: float = 0) -> dict[str, EnvVar]:
    """A duration in seconds (a number or a comma list of them): ``minimum`` up to :data:`MAX_SECONDS`."""
    return _var(*names, parse=parse or _float, minimum=minimum, maximum=MAX_SECONDS)


def parse_bool(name: str, raw: str) -> bool:
    """The one boolean parser: 1/true/yes/on and 0/false/no/off, any case."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1/true/yes/on or 0/false/no/off, got {raw!r}")


def _auto_bool(name: str, raw: str) -> bool | None:
    """``auto`` (None: decided at run time) or a boolean."""
    return None if raw.strip().lower() == "auto" else parse_bool(name, raw)


def _str(_name: str, raw: str) -> str:
    return raw


def _path(_name: str, raw: str) -> Path:
    return Path(raw)


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def _comma_list(_name: str, raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _staff(_name: str, raw: str) -> tuple[str, ...]:
    return tuple(s for s in re.split(r"[\s,|]+", raw) if s)


def _host_ports(name: str, raw: str) -> tuple[tuple[str, int], ...]:
    """``host:port,host:port`` (Sentinels); an IPv6 host in brackets."""
    found = []
    for part in _comma_list(name, raw):
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{name} must be comma-separated host:port pairs, got {part!r}")
        found.append((host.strip("[]"), int(port)))
    return tuple(found)


def _seconds_list(name: str, raw: str) -> tuple[float, ...]:
    """Comma-separated seconds; "off" means none."""
    if raw.lower() in ("off", "none", "0"):
        return ()
    try:
        return tuple(float(part) for part in raw.replace(";", ",").split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated seconds, got {raw!r}") from exc


def _quiet_hours(name: str, raw: str) -> tuple[dtime, dtime] | None:
    raw = raw.lower()
    if raw in ("0", "off", "none", "no"):
        return None
    try:
        start, end = (dtime.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError as exc:
        raise ConfigError(f"{name} must look like 22:00-08:30, got {raw!r}") from exc
    return None if start == end else (start, end)


def _zone(name: str, raw: str) -> ZoneInfo:
    try:
        return ZoneInfo(raw)
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError
        raise ConfigError(f"{name} is not a known time zone: {exc}") from exc


def _log_level(name: str, raw: str) -> str:
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def _api_base(_name: str, raw: str) -> str:
    return raw.rstrip("/") + "/"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REDIS_SCHEMES = ("redis", "rediss", "unix")
DEFAULT_API_BASE = "https://qyapi.weixin.qq.com/cgi-bin/"
DEFAULT_WS_URL = "wss://openws.work.weixin.qq.com"
NO_CREDENTIALS = CallbackCredentials("", "", "")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _packaged_guide() -> Path:
    return resource_dir("data/guide") / "steps.yaml"


def _packaged_knowledge() -> Path:
    return resource_dir("data/knowledge")


def _packaged_templates() -> Path:
    return resource_dir("templates")


@dataclass(frozen=True)
class Settings:
    """Every setting of every process, typed; each field names its variable(s) (docs/configuration.md)."""

    # -- WeCom credentials (derived together: demo mode, pairs that must be set together) --
    corp_id: str = field(default=DEMO_CORP_ID, metadata=_var("WECOM_CORP_ID"))
    app: CallbackCredentials = field(default=NO_CREDENTIALS, metadata=_var("WECOM_TOKEN", "WECOM_ENCODING_AES_KEY"))
    aibot: CallbackCredentials = field(default=NO_CREDENTIALS,
                                       metadata=_var("WECOM_AIBOT_TOKEN", "WECOM_AIBOT_ENCODING_AES_KEY"))
    # 微信客服 (kf): its callback's Token + key (receive id: the CorpID) and the secret whose token calls kf/*
    kf: CallbackCredentials = field(default=NO_CREDENTIALS,
                                    metadata=_var("WECOM_KF_TOKEN", "WECOM_KF_ENCODING_AES_KEY"))
    kf_secret: str | None = field(default=None, repr=False, metadata=_var("WECOM_KF_SECRET", parse=_str))
    kf_sync_limit: int = field(default=1000, metadata=_var("KF_SYNC_LIMIT", parse=_int, minimum=1))
    kf_sweep_seconds: float = field(default=30.0, metadata=_seconds("KF_SWEEP_SECONDS"))
    kf_reply_max_bytes: int = field(default=2048, metadata=_var("KF_REPLY_MAX_BYTES", parse=_int, minimum=64))
    secret_key: str = field(default="", repr=False, metadata=_var("SECRET_KEY"))
    demo: bool = False
    agent_id: int = field(default=DEMO_AGENT_ID, metadata=_var("WECOM_AGENT_ID", parse=_int))
    app_secret: str | None = field(default=None, repr=False, metadata=_var("WECOM_APP_SECRET", parse=_str))
    webhook_key: str | None = field(default=None, repr=False, metadata=_var("WECOM_WEBHOOK_KEY", parse=_str))
    aibot_names: tuple[str, ...] = field(default=(), metadata=_var("WECOM_AIBOT_NAME", parse=_comma_list))
    wecom_api_base: str = field(default=DEFAULT_API_BASE, metadata=_var("WECOM_API_BASE", parse=_api_base))
    response_url_origins: tuple[str, ...] = field(default=(),
                                                  metadata=_var("WECOM_RESPONSE_URL_ORIGINS", parse=_comma_list))
    app_duplicate_check_seconds: int = field(default=1800,
                                             metadata=_seconds("APP_DUPLICATE_CHECK_SECONDS", parse=_int))
    # -- storage and files (REDIS_URL may carry a password) --
    redis_url: str | None = field(default=None, repr=False, metadata=_var("REDIS_URL", parse=_str))
    redis_cluster: bool = field(default=False, metadata=_var("REDIS_CLUSTER", parse=parse_bool))
    redis_sentinels: tuple[tuple[str, int], ...] = field(default=(),
                                                         metadata=_var("REDIS_SENTINELS", parse=_host_ports))
    redis_sentinel_master: str | None = field(default=None, metadata=_var("REDIS_SENTINEL_MASTER", parse=_str))
    data_dir: Path = field(default_factory=default_data_dir, metadata=_var("BOT_DATA_DIR"))  # ./var (infra.resources)
    guide_file: Path = field(default_factory=_packaged_guide, metadata=_var("GUIDE_FILE", parse=_path))
    knowledge_dir: Path = field(default_factory=_packaged_knowledge, metadata=_var("KNOWLEDGE_DIR", parse=_path))
    templates_dir: Path = field(default_factory=_packaged_templates, metadata=_var("TEMPLATES_DIR", parse=_path))
    # -- the callbacks and the pipeline --
    callback_max_age: int = field(default=300, metadata=_seconds("CALLBACK_MAX_AGE_SECONDS", parse=_int))
    max_callback_bytes: int = field(default=64 * 1024, metadata=_var("MAX_CALLBACK_BYTES", parse=_int))
    # a request body not received within this is dropped with a 408 (bot.web.body_deadline); 0: off
    body_deadline: float = field(default=3.0, metadata=_seconds("BODY_DEADLINE_SECONDS"))
    # reverse proxies in front whose X-Forwarded-For is trusted for the client address; 0: ignore the header
    proxy_fix_x_for: int = field(default=0, metadata=_var("PROXY_FIX_X_FOR", parse=_int, minimum=0))
    reply_cache_seconds: int = field(default=3600, metadata=_seconds("REPLY_CACHE_SECONDS", parse=_int))
    lock_timeout: float = field(default=10.0, metadata=_seconds("USER_LOCK_SECONDS"))
    lock_wait: float = field(default=3.0, metadata=_seconds("USER_LOCK_WAIT_SECONDS"))
    rate_limit_per_minute: int = field(default=30, metadata=_var("RATE_LIMIT_PER_MINUTE", parse=_int, minimum=0))
    teach_check_seconds: float = field(default=2.0, metadata=_seconds("TEACH_CHECK_SECONDS"))
    support_staff: tuple[str, ...] = field(default=(), metadata=_var("SUPPORT_STAFF", parse=_staff))
    handoff_timeout: float = field(default=4 * 3600.0, metadata=_seconds("HANDOFF_TIMEOUT"))
    log_level: str = field(default="INFO", metadata=_var("LOG_LEVEL", parse=_log_level))
    # -- the operator view and /metrics --
    admin_token: str | None = field(default=None, repr=False, metadata=_var("ADMIN_TOKEN", parse=_str))
    admin_session_hours: float = field(default=12.0, metadata=_var("ADMIN_SESSION_HOURS", parse=_float, minimum=0.01,
                                                                   maximum=MAX_HOURS))
    admin_stuck_hours: float = field(default=24.0, metadata=_var("ADMIN_STUCK_HOURS", parse=_float, minimum=0,
                                                                 maximum=MAX_HOURS))
    # unknown: UTC at run time, refused by check
    admin_timezone: str | None = field(default=None, metadata=_var("ADMIN_TIMEZONE", parse=_str))
    # None: auto
    admin_cookie_secure: bool | None = field(default=None, metadata=_var("ADMIN_COOKIE_SECURE", parse=_auto_bool))
    metrics_token: str | None = field(default=None, repr=False, metadata=_var("METRICS_TOKEN", parse=_str))
    # None: 1 s
    metrics_flush_seconds: float | None = field(default=None,
                                                metadata=_seconds("METRICS_FLUSH_SECONDS"))
    # -- reminders (the worker) --
    cert_check_delay: float = field(default=600.0, metadata=_seconds("CERT_CHECK_DELAY"))
    cert_followups: tuple[float, ...] = field(default=(1800.0, 7200.0),
                                              metadata=_seconds("CERT_FOLLOWUPS", parse=_seconds_list))
    cert_escalate_delay: float = field(default=3600.0,
                                       metadata=_seconds("CERT_ESCALATE_DELAY", minimum=-math.inf))
    idle_nudges: tuple[float, ...] = field(default=(86400.0, 259200.0),
                                           metadata=_seconds("IDLE_NUDGES", parse=_seconds_list))
    quiet_hours: tuple[dtime, dtime] | None = field(default=(dtime(22, 0), dtime(8, 30)),
                                                    metadata=_var("QUIET_HOURS", parse=_quiet_hours))
    reminder_tz: ZoneInfo = field(default=SHANGHAI, metadata=_var("REMINDER_TZ", parse=_zone))
    # None: on when a group channel exists
    group_notices: bool | None = field(default=None, metadata=_var("GROUP_NOTICES", parse=parse_bool))
    reminder_retry: float = field(default=60.0, metadata=_seconds("REMINDER_RETRY", minimum=0.1))
    reminder_grace: float = field(default=6 * 3600.0, metadata=_seconds("REMINDER_GRACE"))
    notice_max_age: float = field(default=3600.0, metadata=_seconds("NOTICE_MAX_AGE"))
    # -- the worker: leadership and threads --
    leader_ttl: float = field(default=6.0, metadata=_seconds("LEADER_TTL", minimum=1))
    leader_poll: float = field(default=1.0, metadata=_seconds("LEADER_POLL", minimum=0.05))
    worker_threads: int = field(default=8, metadata=_var("WORKER_THREADS", parse=_int, minimum=1))
    sender_threads: int = field(default=4, metadata=_var("SENDER_THREADS", parse=_int, minimum=1))
    # -- sending (the worker's outbox) --
    http_timeout: float = field(default=5.0, metadata=_seconds("WECOM_HTTP_TIMEOUT", minimum=0.01))
    send_max_attempts: int = field(default=12, metadata=_var("SEND_MAX_ATTEMPTS", parse=_int, minimum=1))
    send_backoff_base: float = field(default=2.0, metadata=_seconds("SEND_BACKOFF_BASE"))
    send_backoff_max: float = field(default=900.0, metadata=_seconds("SEND_BACKOFF_MAX"))
    webhook_rate_limit: int = field(default=20, metadata=_var("WEBHOOK_RATE_LIMIT", parse=_int, minimum=1))
    app_rate_limit: int = field(default=30, metadata=_var("APP_RATE_LIMIT", parse=_int, minimum=1))
    app_hourly_limit: int = field(default=1000, metadata=_var("APP_HOURLY_LIMIT", parse=_int, minimum=1))
    rate_window: float = field(default=60.0, metadata=_seconds("RATE_WINDOW", minimum=0.1))
    rate_hourly_window: float = field(default=3600.0, metadata=_seconds("RATE_HOURLY_WINDOW", minimum=0.1))
    rate_margin: float = field(default=1.0, metadata=_var("RATE_MARGIN", parse=_float, minimum=0))
    sent_ttl: float = field(default=7 * 86400.0, metadata=_seconds("SENT_TTL", minimum=1))
    # None: 2 × timeout + 5 s
    send_claim_ttl: float | None = field(default=None, metadata=_seconds("SEND_CLAIM_TTL", minimum=0.1))
    send_sweep_seconds: float = field(default=30.0, metadata=_seconds("SEND_SWEEP_SECONDS"))
    # -- the AI bot's long connection (longconn_settings) --
    bot_id: str | None = field(default=None, metadata=_var("WECOM_BOT_ID", parse=_str))
    bot_secret: str | None = field(default=None, repr=False, metadata=_var("WECOM_BOT_SECRET", parse=_str))
    ws_url: str | None = field(default=None, metadata=_var("WECOM_WS_URL", parse=_str))
    notice_chat_id: str | None = field(default=None, metadata=_var("WECOM_NOTICE_CHATID", parse=_str))
    ws_ping_interval: float = field(default=30.0, metadata=_seconds("WS_PING_INTERVAL"))
    ws_ack_timeout: float = field(default=5.0, metadata=_seconds("WS_ACK_TIMEOUT"))
    ws_max_missed_acks: int = field(default=2, metadata=_var("WS_MAX_MISSED_ACKS", parse=_int))
    ws_backoff_base: float = field(default=1.0, metadata=_seconds("WS_BACKOFF_BASE"))
    ws_backoff_max: float = field(default=30.0, metadata=_seconds("WS_BACKOFF_MAX"))
    ws_throttled_wait: float = field(default=60.0, metadata=_seconds("WS_THROTTLED_WAIT"))
    ws_leader_ttl: float = field(default=6.0, metadata=_seconds("WS_LEADER_TTL"))
    ws_kicked_hold: float = field(default=600.0, metadata=_seconds("WS_KICKED_HOLD"))
    ws_send_rate_limit: int = field(default=30, metadata=_var("WS_SEND_RATE_LIMIT", parse=_int))
    ws_send_hourly_limit: int = field(default=1000, metadata=_var("WS_SEND_HOURLY_LIMIT", parse=_int))
    # -- processes: web server (serve, bot/web/gunicorn_conf.py) and the demo's fake long connection --
    # None: 127.0.0.1 for serve, 0.0.0.0 for gunicorn
    host: str | None = field(default=None, metadata=_var("HOST", parse=_str))
    port: int = field(default=8080, metadata=_var("PORT", parse=_int))
    web_concurrency: int = field(default=2, metadata=_var("WEB_CONCURRENCY", parse=_int))
    web_worker_class: str = field(default="gevent", metadata=_var("WEB_WORKER_CLASS", parse=_str))
    web_worker_connections: int = field(default=1000, metadata=_var("WEB_WORKER_CONNECTIONS", parse=_int))
    demo_ws_port: int = field(default=8765, metadata=_var("DEMO_WS_PORT", parse=_int))
    demo_kf_port: int = field(default=8766, metadata=_var("DEMO_KF_PORT", parse=_int))
    # -- FAQ retrieval (bot.faq, also read by tools without Settings through env_value) --
    faq_semantic: bool = field(default=True, metadata=_var("FAQ_SEMANTIC", parse=parse_bool))
    faq_embed_in_background: bool = field(default=True, metadata=_var("FAQ_EMBED_IN_BACKGROUND", parse=parse_bool))
    # "off": vectors in memory only
    faq_cache_dir: str | None = field(default=None, metadata=_var("FAQ_CACHE_DIR", parse=_str))
    faq_embed_threads: int = field(default=1, metadata=_var("FAQ_EMBED_THREADS", parse=_int))
    xdg_cache_home: str | None = field(default=None, metadata=_var("XDG_CACHE_HOME", parse=_str))
    # -- reading screenshots (bot.ocr: the ocr process) --
    ocr_concurrency: int = field(default=2, metadata=_var("OCR_CONCURRENCY", parse=_int, minimum=1))
    ocr_max_bytes: int = field(default=10 * 1024 * 1024, metadata=_var("OCR_MAX_BYTES", parse=_int, minimum=1024))
    ocr_max_pixels: int = field(default=40_000_000, metadata=_var("OCR_MAX_PIXELS", parse=_int, minimum=10_000))
    ocr_timeout: float = field(default=20.0, metadata=_seconds("OCR_TIMEOUT", minimum=1))
    # an image not read within this many seconds of its message is not read (the AI bot's URL lasts 5 min)
    ocr_max_age: float = field(default=300.0, metadata=_seconds("OCR_MAX_AGE", minimum=1))
    ocr_threads: int = field(default=0, metadata=_var("OCR_THREADS", parse=_int, minimum=0))


def setting_default(attr: str) -> Any:
    """Settings' default of ``attr``, for a parameter elsewhere that must agree with it (written once, above)."""
    f = _settings_fields()[attr]
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _settings_fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(Settings)}


# -- views: a part's settings in its own shape, each field one Settings field (no copies of defaults) ----------
View = TypeVar("View")


def view(attr: str) -> Any:
    """A view's field that shows ``Settings.<attr>`` as it is; no default: the one default is Settings'."""
    return field(metadata={"view_of": attr})


def derived(*attrs: str, repr: bool = True) -> Any:
    """A view's field computed from these Settings fields (by the view's ``from_settings``); no default."""
    return field(repr=repr, metadata={"derived_from": attrs})


def build_view(cls: type[View], settings: Settings, **computed: Any) -> View:
    """An instance of the view ``cls``: every ``view`` field read from ``settings``, the ``derived`` ones given."""
    shown = {f.name: getattr(settings, f.metadata["view_of"]) for f in dataclasses.fields(cls)  # type: ignore[arg-type]
             if "view_of" in f.metadata}
    return cls(**shown, **computed)


def env_fields() -> dict[str, tuple[dataclasses.Field, EnvVar]]:
    """Every Settings field that comes from the environment, by attribute name."""
    return {f.name: (f, f.metadata["env"]) for f in dataclasses.fields(Settings) if "env" in f.metadata}


def variables() -> dict[str, str]:
    """Every environment variable the bot reads, and the Settings field it lands in (tests/ops/test_config_docs.py)."""
    return {name: attr for attr, (_f, var) in env_fields().items() for name in var.names}


def _read(f: dataclasses.Field, var: EnvVar, env: Mapping[str, str]) -> Any:
    raw = env.get(var.names[0], "").strip()
    if not raw or var.parse is None:
        return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    return var.parse(var.names[0], raw)


def env_value(attr: str, env: Mapping[str, str] | None = None) -> Any:
    """One setting read from ``env`` (default ``os.environ``) the way ``load_settings`` reads it, without
    building Settings (no demo credentials): for gunicorn's config and the FAQ tools."""
    f, var = env_fields()[attr]
    return _read(f, var, os.environ if env is None else env)


_AES_KEY_RE = re.compile(r"^[A-Za-z0-9+/]{43}$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")


def validate_aes_key(name: str, value: str) -> str:
    """WeCom's EncodingAESKey is 43 base64 characters that decode (with '=') to 32 bytes."""
    if not _AES_KEY_RE.match(value):
        raise ConfigError(f"{name} must be exactly 43 letters/digits (WeCom EncodingAESKey), got {len(value)} chars")
    try:
        raw = base64.b64decode(value + "=")
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{name} is not valid base64") from exc
    if len(raw) != 32:
        raise ConfigError(f"{name} must decode to 32 bytes")
    return value


def validate_token(name: str, value: str) -> str:
    if not _TOKEN_RE.match(value):
        raise ConfigError(f"{name} must be 1-32 letters or digits (WeCom callback Token)")
    return value


def _valid_demo_credentials(creds: Mapping[str, str]) -> bool:
    """A kept demo credentials file holds two callback keys WeCom's format allows."""
    try:
        validate_aes_key("demo key", creds["aes_key"])
        validate_aes_key("demo aibot key", creds["aibot_aes_key"])
    except (ConfigError, KeyError, TypeError):
        return False
    return True


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build typed settings from ``env`` (default: ``os.environ``); raise ConfigError naming the culprit.

    Every variable is parsed here (a malformed number, list, time zone or boolean is refused at start);
    ranges are checked by :func:`validate`, which ``check`` and ``serve`` run.
    """
    env = dict(os.environ if env is None else env)
    values = {attr: _read(f, var, env) for attr, (f, var) in env_fields().items() if var.parse is not None}
    data_dir = Path(env.get("BOT_DATA_DIR") or default_data_dir())

    app_vars = ("WECOM_CORP_ID", "WECOM_TOKEN", "WECOM_ENCODING_AES_KEY")
    present = [name for name in app_vars if env.get(name, "").strip()]
    kf_present = [name for name in KF_VARS if env.get(name, "").strip()]
    demo = not present and not env.get("WECOM_AIBOT_TOKEN", "").strip() and not values["bot_id"] and not kf_present
    if kf_present and not env.get("WECOM_CORP_ID", "").strip():
        raise ConfigError("the 微信客服 settings need WECOM_CORP_ID too (the kf callback's receive id)")
    if present == ["WECOM_CORP_ID"] and kf_present:
        present = []  # the CorpID alone, for 微信客服 without the app callback
    if present and len(present) != len(app_vars):
        missing = ", ".join(name for name in app_vars if name not in present)
        raise ConfigError(f"incomplete WeCom app callback settings: missing {missing}")

    if demo:
        from bot.demo.credentials import load_or_create  # demo mode only: throwaway credentials, kept on disk

        creds = load_or_create(data_dir, valid=_valid_demo_credentials)
        corp_id = DEMO_CORP_ID
        app = CallbackCredentials(creds["token"], creds["aes_key"], corp_id)
        aibot = CallbackCredentials(creds["aibot_token"], creds["aibot_aes_key"], "")
        secret_key = creds["secret_key"]
        kf = demo_kf_credentials(secret_key, corp_id)
    else:
        corp_id = env.get("WECOM_CORP_ID", "").strip()
        if present:
            app = CallbackCredentials(
                validate_token("WECOM_TOKEN", env["WECOM_TOKEN"].strip()),
                validate_aes_key("WECOM_ENCODING_AES_KEY", env["WECOM_ENCODING_AES_KEY"].strip()),
                corp_id,
            )
        else:
            app = CallbackCredentials("", "", corp_id)
        aibot_token = env.get("WECOM_AIBOT_TOKEN", "").strip()
        aibot_key = env.get("WECOM_AIBOT_ENCODING_AES_KEY", "").strip()
        if bool(aibot_token) != bool(aibot_key):
            raise ConfigError("WECOM_AIBOT_TOKEN and WECOM_AIBOT_ENCODING_AES_KEY must be set together")
        if aibot_token:
            aibot = CallbackCredentials(
                validate_token("WECOM_AIBOT_TOKEN", aibot_token),
                validate_aes_key("WECOM_AIBOT_ENCODING_AES_KEY", aibot_key),
                "",
            )
        else:
            aibot = CallbackCredentials("", "", "")
        secret_key = env.get("SECRET_KEY", "").strip() or _derive_secret(env)
        kf = _kf_credentials(env, corp_id, kf_present)

    return Settings(corp_id=corp_id, app=app, aibot=aibot, kf=kf, secret_key=secret_key, demo=demo,
                    data_dir=data_dir, **values)


KF_VARS = ("WECOM_KF_TOKEN", "WECOM_KF_ENCODING_AES_KEY", "WECOM_KF_SECRET")


def _kf_credentials(env: Mapping[str, str], corp_id: str, present: list[str]) -> CallbackCredentials:
    """The kf callback's Token + key: all three kf variables together, or none."""
    if not present:
        return CallbackCredentials("", "", corp_id)
    if len(present) != len(KF_VARS):
        missing = ", ".join(name for name in KF_VARS if name not in present)
        raise ConfigError(f"incomplete 微信客服 settings: missing {missing}")
    return CallbackCredentials(validate_token("WECOM_KF_TOKEN", env["WECOM_KF_TOKEN"].strip()),
                               validate_aes_key("WECOM_KF_ENCODING_AES_KEY", env["WECOM_KF_ENCODING_AES_KEY"].strip()),
                               corp_id)


def demo_kf_credentials(secret_key: str, corp_id: str) -> CallbackCredentials:
    """Demo mode's kf callback credentials, derived from the demo secret (the local fake derives the same)."""
    import hashlib

    digest = hashlib.sha256(("weda-demo-kf|" + secret_key).encode()).digest()
    token = hashlib.sha256(digest).hexdigest()[:32]
    return CallbackCredentials(token, base64.b64encode(digest).decode()[:43], corp_id)


def kf_configured(settings: Settings) -> bool:
    """微信客服 can run: its callback credentials and (outside demo mode) the secret that calls kf/*."""
    return bool(settings.kf.token and (settings.kf_secret or settings.demo))


def validate(settings: Settings) -> None:
    """Raise ConfigError naming the first setting no process could run with (``check``, ``serve``)."""
    for attr, (_f, var) in env_fields().items():
        value = getattr(settings, attr)
        for number in value if isinstance(value, tuple) else (value,):
            _check_range(var, number)
    _check_admin_token(settings.admin_token)
    if settings.admin_timezone:
        try:
            ZoneInfo(settings.admin_timezone)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError
            raise ConfigError(f"ADMIN_TIMEZONE is not a known time zone: {settings.admin_timezone!r}") from exc
    if settings.redis_url:
        validate_redis_url(settings.redis_url)
    redis_target(settings)  # REDIS_CLUSTER / REDIS_SENTINELS / REDIS_SENTINEL_MASTER fit together
    for name, urls in (("WECOM_API_BASE", (settings.wecom_api_base,)),
                       ("WECOM_RESPONSE_URL_ORIGINS", settings.response_url_origins)):
        for url in urls:
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
                raise ConfigError(f"{name} must be http(s) URLs, got {url!r}")
    longconn_settings(settings)  # WECOM_BOT_ID / WECOM_BOT_SECRET together, WECOM_WS_URL ws:// or wss://


def _check_range(var: EnvVar, value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    low = var.minimum if var.minimum is not None else -math.inf
    high = var.maximum if var.maximum is not None else math.inf
    if var.minimum is not None and not math.isfinite(value):
        raise ConfigError(f"{var.names[0]} must be a finite number >= {var.minimum:g}, got {value!r}")
    if value < low:
        raise ConfigError(f"{var.names[0]} must be a number >= {low:g}, got {value!r}")
    if value > high:
        unit = "hours" if var.maximum == MAX_HOURS else "seconds"
        raise ConfigError(f"{var.names[0]} must be at most {high:g} {unit} (30 days), got {value!r}")


def _check_admin_token(token: str | None) -> None:
    """A short or repetitive operator password can be guessed through the login form despite its throttle."""
    if token is None:
        return
    if len(token) < ADMIN_TOKEN_MIN_LENGTH or len(set(token)) < ADMIN_TOKEN_MIN_DISTINCT:
        raise ConfigError(f"ADMIN_TOKEN must be at least {ADMIN_TOKEN_MIN_LENGTH} characters with at least "
                          f"{ADMIN_TOKEN_MIN_DISTINCT} different ones (e.g. `python -c 'import secrets; "
                          f"print(secrets.token_urlsafe(24))'`), got {len(token)} characters")


def redis_target(settings: Settings) -> RedisTarget | None:
    """Where Redis is (``bot.infra.redis_conn.connect`` builds the client); None: the embedded one."""
    from bot.infra.redis_conn import RedisTarget

    if bool(settings.redis_sentinels) != bool(settings.redis_sentinel_master):
        raise ConfigError("REDIS_SENTINELS and REDIS_SENTINEL_MASTER must be set together")
    if settings.redis_cluster and settings.redis_sentinels:
        raise ConfigError("REDIS_CLUSTER and REDIS_SENTINELS exclude each other: a cluster fails over by itself")
    if not settings.redis_url:
        if settings.redis_cluster or settings.redis_sentinels:
            raise ConfigError("REDIS_CLUSTER and REDIS_SENTINELS need REDIS_URL (a node; or the password and db)")
        return None
    if settings.redis_cluster and urlsplit(settings.redis_url).scheme == "unix":
        raise ConfigError("REDIS_CLUSTER needs a redis:// or rediss:// REDIS_URL naming one node of the cluster")
    return RedisTarget(settings.redis_url, cluster=settings.redis_cluster, sentinels=settings.redis_sentinels,
                       sentinel_master=settings.redis_sentinel_master)


def validate_redis_url(url: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in REDIS_SCHEMES:
        raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or unix://, got {scheme or url!r}://…")


def _derive_secret(env: Mapping[str, str]) -> str:
    """A stable session-signing key when SECRET_KEY is unset: derived from secrets we already hold."""
    import hashlib

    names = ("ADMIN_TOKEN", "WECOM_TOKEN", "WECOM_ENCODING_AES_KEY", "WECOM_APP_SECRET", "WECOM_AIBOT_TOKEN",
             "WECOM_AIBOT_ENCODING_AES_KEY", "WECOM_WEBHOOK_KEY")
    material = "|".join(env.get(k, "") for k in names)
    kf = [env.get(k, "") for k in KF_VARS if env.get(k, "")]
    if kf:  # appended only when set: deployments without 微信客服 keep the key (and the sessions) they had
        material += "|" + "|".join(kf)
    return hashlib.sha256(("weda-bot-session|" + material).encode()).hexdigest()


# -- the AI bot's long connection (长连接) --------------------------------------------------------------
DEMO_BOT_ID = "demo-bot"


@dataclass(frozen=True)
class LongConnSettings:
    """The AI bot in long-connection mode: Bot ID + Secret, where to connect, and the client's timings.

    A view of Settings (``longconn_settings``): every delay is a setting so tests and the demo can make
    them short; the defaults (Settings' ``ws_*``) are WeCom's: ping every 30 s, two missed acks = a dead
    link, reconnect 1 s doubling to 30 s.
    """

    bot_id: str = derived("bot_id", "demo", "ws_url")
    secret: str = derived("bot_secret", "secret_key", repr=False)
    url: str = derived("ws_url")
    ping_interval: float = view("ws_ping_interval")
    ack_timeout: float = view("ws_ack_timeout")
    max_missed_acks: int = derived("ws_max_missed_acks")  # at least 1
    backoff_base: float = view("ws_backoff_base")
    backoff_max: float = view("ws_backoff_max")
    throttled_wait: float = view("ws_throttled_wait")  # after a 45009 on subscribe: WeCom says "too many connects"
    leader_ttl: float = view("ws_leader_ttl")
    kicked_hold: float = view("ws_kicked_hold")  # after a kick by an unknown connection, no holder reconnects this long
    notice_chat_id: str | None = view("notice_chat_id")  # the staff group's chatid for staff notices
    send_limit: int = view("ws_send_rate_limit")  # aibot_send_msg per chat per minute (reported, not confirmed)
    send_hourly_limit: int = view("ws_send_hourly_limit")


def longconn_settings(settings: Settings) -> LongConnSettings | None:
    """The long connection's settings, or None when it is not configured.

    Configured by WECOM_BOT_ID + WECOM_BOT_SECRET; in demo mode also by WECOM_WS_URL alone (``serve``
    sets it when it starts the local fake WeCom), with a demo bot id and a secret derived from the
    demo credentials.
    """
    bot_id = settings.bot_id or ""
    secret = settings.bot_secret or ""
    url = settings.ws_url or ""
    if not bot_id and not secret:
        if not (settings.demo and url):
            return None
        bot_id, secret = DEMO_BOT_ID, demo_bot_secret(settings)
    elif not bot_id or not secret:
        raise ConfigError("WECOM_BOT_ID and WECOM_BOT_SECRET must be set together")
    if url and not url.startswith(("ws://", "wss://")):
        raise ConfigError(f"WECOM_WS_URL must start with ws:// or wss://, got {url[:40]!r}")
    return build_view(LongConnSettings, settings, bot_id=bot_id, secret=secret, url=url or DEFAULT_WS_URL,
                      max_missed_acks=max(settings.ws_max_missed_acks, 1))


def demo_bot_secret(settings: Settings) -> str:
    """The demo bot's secret: the fake WeCom and the demo holder derive the same one."""
    import hashlib

    return hashlib.sha256(("weda-demo-bot|" + settings.secret_key).encode()).hexdigest()[:43]
