"""An AI-bot ``response_url``: one POST of markdown (20480 bytes) into the chat the user wrote from.

WeCom hands one with every AI-bot callback (``progress.response_url``); it is valid an hour and usable
once, so a message takes it (``claim``: cleared from the user's progress, under their lock, in the
MULTI that records it for this message) and a longer message goes another way. WeCom documents no
rate for it.

A failure moves the message to the app only when WeCom answered with an errcode (it refused: nothing
was shown). A timeout or HTTP 5xx may have been delivered: the message is retried on the same URL,
and if WeCom then refuses the URL within its hour, only that earlier attempt can have used it, so the
message counts as sent rather than going out twice (``refusal_means_sent``).
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from bot.channels.wecom.api import WeComAPI
from bot.channels.wecom.failures import wecom_failures
from bot.core.progress import Progress
from bot.core.store import Store, UserBusy, progress_key
from bot.core.textsplit import utf8_len
from bot.outbound.channel import MARKDOWN, TEMPLATE_CARD, ChannelSpec, Content, Format
from bot.outbound.entry import RESPONSE_URL, OutboxMessage
from bot.outbound.pacing import Limit
from bot.outbound.queue import ROUTE_PREFIX

CONTENT_LIMIT = 20480  # one POST only: a longer message goes another way
URL_MARGIN = 60.0  # a refused response_url this long before its end cannot have expired: it was used
FORMATS = (Format(MARKDOWN, CONTENT_LIMIT), Format(TEMPLATE_CARD, None))
SPEC = ChannelSpec(RESPONSE_URL, FORMATS)


class ResponseUrlChannel:
    spec = SPEC

    def __init__(self, api: WeComAPI) -> None:
        self.api = api

    def content(self, message: OutboxMessage) -> Content:
        return Content(MARKDOWN, message.text, CONTENT_LIMIT)

    def limits(self, message: OutboxMessage, target: str | None) -> list[Limit]:
        return []

    def send(self, message: OutboxMessage, target: str | None, msgtype: str, part: str) -> None:
        with wecom_failures():
            self.api.post_response_url(target or "", part)


def claim(store: Store, message: OutboxMessage, user_key: str, clock: Callable[[], float],
          wanted: Callable[[Progress], bool] = lambda _progress: True) -> str | None:
    """Take the user's unused, fresh response_url for this message (once: it is cleared).

    ``wanted``: routing's say on the user's progress, read here once under their lock.
    """
    if utf8_len(message.text) > CONTENT_LIMIT:
        return None
    client: redis.Redis = store.redis
    try:
        with store.user_lock(user_key, wait=2.0):
            progress = store.load(user_key)
            expires = float(progress.response_url_expires or 0) if progress is not None else 0.0
            if progress is None or not progress.response_url or expires <= clock() + 5 or not wanted(progress):
                return None
            url = progress.response_url
            progress.response_url = None
            progress.response_url_expires = None
            with client.pipeline(transaction=True) as pipe:
                pipe.set(progress_key(user_key), progress.to_json())
                pipe.set(ROUTE_PREFIX + message.id, url, ex=max(int(expires - clock()), 1))
                pipe.execute()
            message.meta["url_expires"] = expires
            return url
    except UserBusy:
        return None  # the user is mid-message: the app is as good


def refusal_means_sent(message: OutboxMessage, now: float) -> bool:
    """Only this message held the URL and an earlier attempt on it went unanswered: that attempt used it."""
    return bool(message.meta.get("url_unsure")) and now + URL_MARGIN < float(message.meta.get("url_expires") or 0)
