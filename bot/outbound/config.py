"""The sender's settings: retries, back-off, the rate windows, claim and marker lifetimes."""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels.app import outbound as app
from bot.channels.webhook import outbound as webhook
from bot.config import Settings


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
        timeout = settings.http_timeout
        return cls(
            max_attempts=settings.send_max_attempts,
            backoff_base=settings.send_backoff_base,
            backoff_max=settings.send_backoff_max,
            webhook_limit=settings.webhook_rate_limit,
            app_limit=settings.app_rate_limit,
            app_hourly_limit=settings.app_hourly_limit,
            window=settings.rate_window,
            hourly_window=settings.rate_hourly_window,
            margin=settings.rate_margin,
            sent_ttl=settings.sent_ttl,
            http_timeout=timeout,
            claim_ttl=settings.send_claim_ttl if settings.send_claim_ttl is not None else timeout * 2 + 5.0,
            sweep_interval=settings.send_sweep_seconds,
        )
