"""One rule for the user ids both callbacks hand the pipeline, so "vic " is "vic" on either surface.

WeCom userids are 1-64 letters, digits and ``_-@.``; external ids are longer but just as plain.
XML parsing strips the whitespace around ``FromUserName`` anyway, so the AI bot's ``from.userid`` is
stripped the same way; an id with control or other non-printable characters (a CR/LF that would
forge log lines) is not WeCom's and is refused.
"""

from __future__ import annotations

from typing import Any

from bot.channels.wecom.envelope import CallbackRejected

MAX_USER_ID_CHARS = 256


def normalise_user_id(value: Any, what: str = "user id") -> str:
    """The user id as the pipeline keys it, or CallbackRejected (HTTP 400)."""
    if not isinstance(value, str):
        raise CallbackRejected(f"payload has no usable {what}")
    user = value.strip()
    if not user or len(user) > MAX_USER_ID_CHARS:
        raise CallbackRejected(f"payload has no usable {what}")
    if not user.isprintable():
        raise CallbackRejected(f"{what} has control characters")
    return user
