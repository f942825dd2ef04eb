"""An OCR hand-off as a reader makes it: shared by the hand-off tests and the long connection's."""

from __future__ import annotations

import contextlib

import redis

from bot.core.keys import EVENTS_STREAM, OCR_GROUP
from bot.core.messages import Incoming
from bot.ocr.handoff import TextRead, hand_off
from tests.support.environment import TEST_CORP_ID

READ_61004 = "提示\n授权失败，请检查白名单配置\n错误码：61004\naccess clientip is not registered"
USER_KEY = Incoming("app", TEST_CORP_ID, "ann", msg_id="-").user_key


def a_read(msg_id: str = "9001", text: str = READ_61004) -> TextRead:
    job = {"transport": "app", "corp_id": TEST_CORP_ID, "user_id": "ann", "msg_id": msg_id, "chat_type": "single",
           "chat_id": None, "image": {"media_id": "m1"}}
    return TextRead.of(USER_KEY, job, text, 0.99, None, 0.5)


def handed_off(redis_client, read: TextRead) -> None:
    """As a reader hands off: an ``image_received`` event taken in the ``ocr`` group, acknowledged with it."""
    with contextlib.suppress(redis.ResponseError):  # BUSYGROUP: made by an earlier call
        redis_client.xgroup_create(EVENTS_STREAM, OCR_GROUP, id="$", mkstream=True)
    redis_client.xadd(EVENTS_STREAM, {"event": "an image_received event"})
    [[_stream, [(event_id, _fields)]]] = redis_client.xreadgroup(OCR_GROUP, "ocr-1", {EVENTS_STREAM: ">"}, count=1)
    hand_off(redis_client, read, event_id)
