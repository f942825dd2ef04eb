"""Secrets pasted into chat are masked before anything stores, logs or matches the text."""

from bot.faq.redact import redact_secrets

__all__ = ["redact_secrets"]
