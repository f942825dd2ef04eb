"""What every outbound channel declares as data: the content it takes, its byte limits, its rates.

A channel module (``bot.channels.<name>.outbound``; the AI bot's ``response_url``) builds a ``ChannelSpec``
and implements ``Channel``: the sender asks it for the content of a message, the windows one part counts
against (``bot.outbound.pacing``), and to send one part. Routing (``bot.outbound.routing``) decides
which channel; the channel never does. A part that did not go out is a ``ChannelError``: each channel
says what its own platform's failure means (the WeCom ones through ``bot.channels.wecom.failures``), and the
sender acts on that meaning alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from bot.outbound.entry import OutboxMessage
from bot.outbound.pacing import Limit

TEXT = "text"
MARKDOWN = "markdown"
TEMPLATE_CARD = "template_card"


@dataclass(frozen=True)
class Format:
    """A content type WeCom takes on this channel, and its size limit in UTF-8 bytes (None: not documented).

    The outbox carries text and markdown; template cards are declared where WeCom takes them.
    """

    msgtype: str
    max_bytes: int | None


@dataclass(frozen=True)
class Rate:
    """At most ``count`` sends per ``window`` seconds (our clock margin included) per ``per``."""

    count: int
    window: float
    per: str  # what one window counts: "member", "robot", "chat"
    suffix: str = ""  # of the Redis key, so that two windows of one scope are two logs


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    formats: tuple[Format, ...]
    rates: tuple[Rate, ...] = ()

    def max_bytes(self, msgtype: str) -> int:
        for fmt in self.formats:
            if fmt.msgtype == msgtype and fmt.max_bytes is not None:
                return fmt.max_bytes
        raise ValueError(f"{self.name} has no byte limit for {msgtype}")

    def windows(self, prefix: str, scope: str) -> list[Limit]:
        """The sliding windows one send to ``scope`` (a member, a robot, a chat) counts against."""
        return [Limit(f"{prefix}{scope}{rate.suffix}", rate.count, rate.window) for rate in self.rates]


class ChannelError(Exception):
    """A part was not delivered, in the terms the sender acts on, whatever the channel:

    - ``permanent``: no retry can succeed (a bad recipient or content, a closed window): a dead letter now;
    - ``rate_limited``: the channel said "too often": a whole rate window is waited out, then it is sent again;
    - ``refused``: the channel answered and showed nothing, so sending it another way cannot show it twice
      (a refused response_url hands the message to the app);
    - none of these: transient and perhaps delivered (a timeout): retried on the same route, with back-off.
    """

    def __init__(self, message: str, *, permanent: bool = False, rate_limited: bool = False,
                 refused: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.rate_limited = rate_limited
        self.refused = refused

    @property
    def retryable(self) -> bool:
        return not self.permanent


class Content(NamedTuple):
    msgtype: str
    text: str  # the whole message: the sender splits it at ``max_bytes`` and sends the parts in order
    max_bytes: int


class Channel(Protocol):
    spec: ChannelSpec

    def content(self, message: OutboxMessage) -> Content:
        """What this channel shows of ``message``, in which format."""
        ...

    def limits(self, message: OutboxMessage, target: str | None) -> list[Limit]:
        """The windows one part counts against (``target``: the response_url or chat id routing chose)."""
        ...

    def send(self, message: OutboxMessage, target: str | None, msgtype: str, part: str) -> None:
        """Send one part; raises ``ChannelError`` when it did not go out."""
        ...
