"""The sender's settings: retries, back-off, the rate windows, claim and marker lifetimes."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.outbound import app, webhook


@dataclass(frozen=True)
class SenderConfig:
    max_attempts: int = 12
    backoff_base: float = 2.0
    backoff_max: float = 900.0
    webhook_limit: int = webhook.PER_MINUTE
    app_limit: int = app.PER_MINUTE
    app_hourly_limit: int = app.PER_HOUR
    window: float = 60.0  # the "per minute" of the limits (tests shrink it)
    hourly_window: float = 3600.0
    margin: float = 1.0  # added to every window: our clock and WeCom's are not the same clock
    sent_ttl: float = 7 * 86400.0
    http_timeout: float = 5.0
    max_throttled: int = 200  # 45009 answers before a message is given up
    claim_ttl: float = 15.0  # how long a claim outlives a sender that died mid-send (> one HTTP call)
    sweep_interval: float = 30.0  # the leader returns stranded processing entries this often (0: never)

    @classmethod
    def from_settings(cls, settings: Settings) -> SenderConfig:
        timeout = settings.seconds("WECOM_HTTP_TIMEOUT", 5.0)
        return cls(
            max_attempts=int(settings.seconds("SEND_MAX_ATTEMPTS", 12)),
            backoff_base=settings.seconds("SEND_BACKOFF_BASE", 2.0),
            backoff_max=settings.seconds("SEND_BACKOFF_MAX", 900.0),
            webhook_limit=int(settings.seconds("WEBHOOK_RATE_LIMIT", webhook.PER_MINUTE)),
            app_limit=int(settings.seconds("APP_RATE_LIMIT", app.PER_MINUTE)),
            app_hourly_limit=int(settings.seconds("APP_HOURLY_LIMIT", app.PER_HOUR)),
            window=settings.seconds("RATE_WINDOW", 60.0),
            hourly_window=settings.seconds("RATE_HOURLY_WINDOW", 3600.0),
            margin=settings.seconds("RATE_MARGIN", 1.0),
            sent_ttl=settings.seconds("SENT_TTL", 7 * 86400.0),
            http_timeout=timeout,
            claim_ttl=settings.seconds("SEND_CLAIM_TTL", timeout * 2 + 5.0),
            sweep_interval=settings.seconds("SEND_SWEEP_SECONDS", 30.0),
        )
