"""The sender's settings: a view of the ``bot.config.Settings`` fields for retries, back-off, the rate
windows, claim and marker lifetimes (no defaults of its own: a channel's rates are settings too)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings, build_view, derived, view


@dataclass(frozen=True)
class SenderConfig:
    max_attempts: int = view("send_max_attempts")
    backoff_base: float = view("send_backoff_base")
    backoff_max: float = view("send_backoff_max")
    webhook_limit: int = view("webhook_rate_limit")
    app_limit: int = view("app_rate_limit")
    app_hourly_limit: int = view("app_hourly_limit")
    window: float = view("rate_window")  # the "per minute" of the limits (tests shrink it)
    hourly_window: float = view("rate_hourly_window")
    margin: float = view("rate_margin")  # added to every window: our clock and WeCom's are not the same clock
    sent_ttl: float = view("sent_ttl")
    http_timeout: float = view("http_timeout")
    claim_ttl: float = derived("send_claim_ttl", "http_timeout")  # how long a claim outlives a sender that died
    sweep_interval: float = view("send_sweep_seconds")  # the leader returns stranded processing entries this often

    @classmethod
    def from_settings(cls, settings: Settings) -> SenderConfig:
        claim = settings.send_claim_ttl
        return build_view(cls, settings, claim_ttl=claim if claim is not None else settings.http_timeout * 2 + 5.0)
