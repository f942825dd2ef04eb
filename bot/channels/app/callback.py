"""The self-built app callback, free of Flask: verify a URL, answer a message."""

from __future__ import annotations

from collections.abc import Mapping

from bot.channels.app import protocol as app_protocol
from bot.channels.wecom import wire_text
from bot.channels.wecom.envelope import Envelope, SignedQuery
from bot.core.pipeline import Pipeline
from bot.core.render import TEXT


class AppCallback:
    def __init__(self, envelope: Envelope, pipeline: Pipeline, corp_id: str,
                 reply_max_bytes: int | None = app_protocol.TEXT_REPLY_MAX_BYTES) -> None:
        """``reply_max_bytes``: where a reply is split, the rest following as active messages; None in
        demo mode, where no WeCom cuts the reply and nothing could send the rest."""
        self.envelope = envelope
        self.pipeline = pipeline
        self.corp_id = corp_id
        self.reply_max_bytes = reply_max_bytes

    def verify(self, args: Mapping[str, str]) -> str:
        return self.envelope.verify_url(args)

    def handle(self, args: Mapping[str, str], body: bytes) -> str:
        """Returns the encrypted XML reply, or "" for no reply (an HTTP 200 with an empty body)."""
        query = SignedQuery.from_args(args)
        encrypted = app_protocol.encrypted_field(body)
        plaintext = self.envelope.decrypt(query, encrypted)
        incoming = wire_text.normalise(app_protocol.to_incoming(plaintext, self.corp_id))
        outgoing = self.pipeline.process(incoming, TEXT, max_bytes=self.reply_max_bytes)
        if not outgoing.text:
            return ""
        return app_protocol.reply_xml(self.envelope, incoming, outgoing.text, query)
