"""Reading screenshots users paste (OCR), out of the request path.

The flow: a channel turns an image message into ``Incoming(kind="image")`` (:func:`image_message`); the
pipeline acknowledges it at once and commits an ``image_received`` event (handlers.image); the OCR
process (``python -m bot ocr``, bot.ocr.reader) reads that event from ``wb:events`` in its own consumer
group, fetches the picture (bot.ocr.fetch), checks and decodes it (bot.ocr.images), reads it with the
model loaded once (bot.ocr.engine) and hands the text back to the pipeline as ``Incoming(kind="ocr")``;
the answer goes to the user's chat through the outbox.

Web processes never import the model: their memory does not change.
"""

from __future__ import annotations

from bot.core.messages import Incoming

RECEIVED = "image_received"  # the event an image message commits (handlers.image); the OCR process reads it


def image_message(transport: str, corp_id: str, user_id: str, msg_id: str, *, media_id: str = "", url: str = "",
                  aeskey: str = "", via: str = "", text: str = "", chat_type: str = "single",
                  chat_id: str | None = None, response_url: str | None = None) -> Incoming:
    """An image message for the pipeline, from any channel: ``media_id`` (fetched with ``media/get``: with
    the app's token, or ``via="kf"`` with 微信客服's) or a download ``url`` (+ the file's ``aeskey``: the AI
    bot). ``msg_id`` is the channel's dedupe key: a re-delivered image is acknowledged once and read once.
    Give the result to ``Pipeline.process`` like any message."""
    if not media_id and not url:
        raise ValueError("an image message needs a media_id or a url")
    image = {k: v for k, v in (("media_id", media_id), ("url", url), ("aeskey", aeskey), ("via", via)) if v}
    return Incoming(transport, corp_id, user_id, msg_id=msg_id, text=text, kind="image", chat_type=chat_type,
                    chat_id=chat_id, response_url=response_url, extra={"image": image})
