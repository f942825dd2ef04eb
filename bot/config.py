"""Configuration, read from the environment only and validated once at start.

Every WeCom credential comes from the environment (never from a file in the repo). Without any,
the bot runs in *demo mode*: throwaway callback credentials are generated once, kept in the data
folder and printed, so a newcomer can try the bot with the local simulator.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.resources import default_data_dir, resource_dir

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the checkout; installed, bot.resources finds the files

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


@dataclass(frozen=True)
class Settings:
    corp_id: str
    agent_id: int
    app_secret: str | None = field(repr=False)
    app: CallbackCredentials
    aibot: CallbackCredentials
    webhook_key: str | None = field(repr=False)
    redis_url: str | None = field(repr=False)  # may carry a password
    admin_token: str | None = field(repr=False)
    demo: bool
    data_dir: Path
    wecom_api_base: str
    callback_max_age: int
    max_callback_bytes: int
    reply_cache_seconds: int
    lock_timeout: float
    support_staff: tuple[str, ...]
    guide_file: Path
    knowledge_dir: Path
    templates_dir: Path
    secret_key: str = field(repr=False, default="")
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    def get(self, name: str, default: str | None = None) -> str | None:
        """Read a further tuning knob that came from the same environment snapshot."""
        return self.extra.get(name, default)

    def seconds(self, name: str, default: float) -> float:
        raw = self.extra.get(name)
        if raw is None or raw == "":
            return default
        try:
            return float(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from exc


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


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def _random_token(n: int = 32) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _random_aes_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()[:43]


def demo_credentials(data_dir: Path) -> dict[str, str]:
    """Throwaway callback credentials, made once and kept so every local process agrees on them."""
    path = data_dir / "demo-credentials.json"
    if path.exists():
        try:
            creds = json.loads(path.read_text())
            validate_aes_key("demo key", creds["aes_key"])
            validate_aes_key("demo aibot key", creds["aibot_aes_key"])
            return creds
        except (ValueError, KeyError):
            pass  # regenerate a corrupt file
    data_dir.mkdir(parents=True, exist_ok=True)
    creds = {
        "token": _random_token(),
        "aes_key": _random_aes_key(),
        "aibot_token": _random_token(),
        "aibot_aes_key": _random_aes_key(),
        "secret_key": secrets.token_hex(32),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(creds, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)
    return creds


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build validated settings from ``env`` (default: ``os.environ``); raise ConfigError naming the culprit."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("BOT_DATA_DIR") or default_data_dir())

    app_vars = ("WECOM_CORP_ID", "WECOM_TOKEN", "WECOM_ENCODING_AES_KEY")
    present = [name for name in app_vars if env.get(name, "").strip()]
    demo = not present and not env.get("WECOM_AIBOT_TOKEN", "").strip() and not env.get("WECOM_BOT_ID", "").strip()
    if present and len(present) != len(app_vars):
        missing = ", ".join(name for name in app_vars if name not in present)
        raise ConfigError(f"incomplete WeCom app callback settings: missing {missing}")

    if demo:
        creds = demo_credentials(data_dir)
        corp_id = DEMO_CORP_ID
        app = CallbackCredentials(creds["token"], creds["aes_key"], corp_id)
        aibot = CallbackCredentials(creds["aibot_token"], creds["aibot_aes_key"], "")
        secret_key = creds["secret_key"]
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

    staff = tuple(s for s in re.split(r"[\s,|]+", env.get("SUPPORT_STAFF", "")) if s)
    return Settings(
        corp_id=corp_id,
        agent_id=_int(env, "WECOM_AGENT_ID", DEMO_AGENT_ID),
        app_secret=env.get("WECOM_APP_SECRET", "").strip() or None,
        app=app,
        aibot=aibot,
        webhook_key=env.get("WECOM_WEBHOOK_KEY", "").strip() or None,
        redis_url=env.get("REDIS_URL", "").strip() or None,
        admin_token=env.get("ADMIN_TOKEN", "").strip() or None,
        demo=demo,
        data_dir=data_dir,
        wecom_api_base=(env.get("WECOM_API_BASE", "").strip() or "https://qyapi.weixin.qq.com/cgi-bin/").rstrip("/")
        + "/",
        callback_max_age=_int(env, "CALLBACK_MAX_AGE_SECONDS", 300),
        max_callback_bytes=_int(env, "MAX_CALLBACK_BYTES", 64 * 1024),
        reply_cache_seconds=_int(env, "REPLY_CACHE_SECONDS", 3600),
        lock_timeout=_float(env, "USER_LOCK_SECONDS", 10.0),
        support_staff=staff,
        guide_file=Path(env.get("GUIDE_FILE") or resource_dir("data/guide") / "steps.yaml"),
        knowledge_dir=Path(env.get("KNOWLEDGE_DIR") or resource_dir("data/knowledge")),
        templates_dir=Path(env.get("TEMPLATES_DIR") or resource_dir("templates")),
        secret_key=secret_key,
        extra=env,
    )


def _derive_secret(env: Mapping[str, str]) -> str:
    """A stable session-signing key when SECRET_KEY is unset: derived from secrets we already hold."""
    import hashlib

    names = ("ADMIN_TOKEN", "WECOM_TOKEN", "WECOM_ENCODING_AES_KEY", "WECOM_APP_SECRET", "WECOM_AIBOT_TOKEN",
             "WECOM_AIBOT_ENCODING_AES_KEY", "WECOM_WEBHOOK_KEY")
    material = "|".join(env.get(k, "") for k in names)
    return hashlib.sha256(("weda-bot-session|" + material).encode()).hexdigest()


# -- the AI bot's long connection (长连接) --------------------------------------------------------------
DEFAULT_WS_URL = "wss://openws.work.weixin.qq.com"
DEMO_BOT_ID = "demo-bot"


@dataclass(frozen=True)
class LongConnSettings:
    """The AI bot in long-connection mode: Bot ID + Secret, where to connect, and the client's timings.

    Every delay is a setting so tests and the demo can make them short; the defaults are WeCom's
    (ping every 30 s, two missed acks = a dead link, reconnect 1 s doubling to 30 s).
    """

    bot_id: str
    secret: str = field(repr=False)
    url: str = DEFAULT_WS_URL
    ping_interval: float = 30.0
    ack_timeout: float = 5.0
    max_missed_acks: int = 2
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    throttled_wait: float = 60.0  # after a 45009 on subscribe: WeCom says "too many connects"
    leader_ttl: float = 6.0
    kicked_hold: float = 600.0  # after a kick by an unknown connection, no holder reconnects this long
    notice_chat_id: str | None = None  # the support group's chatid for notices (default: the last group seen)
    send_limit: int = 30  # aibot_send_msg per chat per minute (reported, not confirmed by WeCom)
    send_hourly_limit: int = 1000


def longconn_settings(settings: Settings) -> LongConnSettings | None:
    """The long connection's settings, or None when it is not configured.

    Configured by WECOM_BOT_ID + WECOM_BOT_SECRET; in demo mode also by WECOM_WS_URL alone (``serve``
    sets it when it starts the local fake WeCom), with a demo bot id and a secret derived from the
    demo credentials.
    """
    bot_id = (settings.get("WECOM_BOT_ID") or "").strip()
    secret = (settings.get("WECOM_BOT_SECRET") or "").strip()
    url = (settings.get("WECOM_WS_URL") or "").strip()
    if not bot_id and not secret:
        if not (settings.demo and url):
            return None
        bot_id, secret = DEMO_BOT_ID, demo_bot_secret(settings)
    elif not bot_id or not secret:
        raise ConfigError("WECOM_BOT_ID and WECOM_BOT_SECRET must be set together")
    if url and not url.startswith(("ws://", "wss://")):
        raise ConfigError(f"WECOM_WS_URL must start with ws:// or wss://, got {url[:40]!r}")
    return LongConnSettings(
        bot_id=bot_id,
        secret=secret,
        url=url or DEFAULT_WS_URL,
        ping_interval=settings.seconds("WS_PING_INTERVAL", 30.0),
        ack_timeout=settings.seconds("WS_ACK_TIMEOUT", 5.0),
        max_missed_acks=max(int(settings.seconds("WS_MAX_MISSED_ACKS", 2)), 1),
        backoff_base=settings.seconds("WS_BACKOFF_BASE", 1.0),
        backoff_max=settings.seconds("WS_BACKOFF_MAX", 30.0),
        throttled_wait=settings.seconds("WS_THROTTLED_WAIT", 60.0),
        leader_ttl=settings.seconds("WS_LEADER_TTL", 6.0),
        kicked_hold=settings.seconds("WS_KICKED_HOLD", 600.0),
        notice_chat_id=(settings.get("WECOM_NOTICE_CHATID") or "").strip() or None,
        send_limit=int(settings.seconds("WS_SEND_RATE_LIMIT", 30)),
        send_hourly_limit=int(settings.seconds("WS_SEND_HOURLY_LIMIT", 1000)),
    )


def demo_bot_secret(settings: Settings) -> str:
    """The demo bot's secret: the fake WeCom and the demo holder derive the same one."""
    import hashlib

    return hashlib.sha256(("weda-demo-bot|" + settings.secret_key).encode()).hexdigest()[:43]
