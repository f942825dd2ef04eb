"""WeCom's failures in the sender's terms: the WeCom channels raise ``ChannelError``, never ``WeComError``.

``bot.channels.wecom.api`` classifies every answer (errcode, HTTP status, timeout); here that classification
becomes the channel-neutral one the sender acts on (``bot.outbound.channel.ChannelError``), so a
channel that is not WeCom's states its failures the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.channels.wecom.api import WeComError
from bot.outbound.channel import ChannelError


def as_channel_error(exc: WeComError) -> ChannelError:
    """The same failure, as the sender understands it (the message, errcode included, kept for the dead letter)."""
    return ChannelError(str(exc), permanent=exc.permanent, rate_limited=exc.rate_limited, refused=exc.refused)


@contextmanager
def wecom_failures() -> Iterator[None]:
    """Around a WeCom call that sends a part: its ``WeComError`` leaves as a ``ChannelError``."""
    try:
        yield
    except WeComError as exc:
        raise as_channel_error(exc) from exc
