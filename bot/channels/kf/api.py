"""The 微信客服 (kf) calls the bot makes: sync_msg, send_msg, send_msg_on_event, service_state.

Documents: path/94670 (sync_msg), 94677 (send_msg), 95122 (send_msg_on_event), 94669 (service_state).
The access token is the kf secret's (WECOM_KF_SECRET), cached in Redis like the app's, through the same
thin client (``bot.channels.wecom.api.WeComAPI``) so every failure is classified the same way (errcode, timeout).

Error codes the bot acts on. Documented (global error codes, 微信客服): 95000 invalid open_kfid, 95001 the
send limit (5 messages after a customer message). Not found in the documents we could read, so chosen
here and used by the local fake the same way: 95007 an invalid or expired sync_msg token, 95018 a send in
a session state that does not allow it (2 or 3), 40035 (the global "invalid parameter") for a stale cursor.
"""

from __future__ import annotations

from typing import Any

import redis

from bot.channels.wecom.api import WeComAPI
from bot.config import Settings

INVALID_OPEN_KFID = 95000
SEND_LIMIT = 95001  # 48 h passed, or 5 messages sent since the customer's last message
INVALID_SYNC_TOKEN = 95007
SESSION_STATE_REFUSED = 95018
INVALID_PARAMETER = 40035

# Session states (path/94669)
NEW, BOT, POOL, HUMAN, ENDED = 0, 1, 2, 3, 4
BOT_MAY_SEND = (NEW, BOT)
DEMO_SECRET = "demo-kf-secret"

TEXT_MAX_BYTES = 2048  # kf text content; the bot's own limit is KF_REPLY_MAX_BYTES (default the same)
MENU_ITEM_MAX_BYTES = 64  # a msgmenu click item's content (menu ids stay far below)


class KfAPI:
    def __init__(self, api: WeComAPI) -> None:
        self.api = api

    @classmethod
    def from_settings(cls, settings: Settings, client: redis.Redis) -> KfAPI:
        secret = settings.kf_secret or (DEMO_SECRET if settings.demo else None)
        return cls(WeComAPI(settings.wecom_api_base, client, corp_id=settings.corp_id, secret=secret,
                            agent_id=0, timeout=settings.http_timeout))

    def sync_msg(self, open_kfid: str, cursor: str, token: str | None, limit: int) -> dict[str, Any]:
        body: dict[str, Any] = {"open_kfid": open_kfid, "limit": limit}
        if cursor:
            body["cursor"] = cursor
        if token:
            body["token"] = token
        return self.api.post_with_token("kf/sync_msg", body)

    def send_msg(self, touser: str, open_kfid: str, msgid: str, msgtype: str, content: dict[str, Any]) -> dict:
        return self.api.post_with_token("kf/send_msg", {"touser": touser, "open_kfid": open_kfid, "msgid": msgid,
                                                        "msgtype": msgtype, msgtype: content})

    def send_on_event(self, code: str, msgid: str, msgtype: str, content: dict[str, Any]) -> dict[str, Any]:
        return self.api.post_with_token("kf/send_msg_on_event", {"code": code, "msgid": msgid, "msgtype": msgtype,
                                                                 msgtype: content})

    def trans(self, open_kfid: str, external_userid: str, state: int, servicer: str | None = None) -> dict:
        body: dict[str, Any] = {"open_kfid": open_kfid, "external_userid": external_userid, "service_state": state}
        if servicer:
            body["servicer_userid"] = servicer
        return self.api.post_with_token("kf/service_state/trans", body)

    def state(self, open_kfid: str, external_userid: str) -> dict[str, Any]:
        return self.api.post_with_token("kf/service_state/get", {"open_kfid": open_kfid,
                                                                 "external_userid": external_userid})
