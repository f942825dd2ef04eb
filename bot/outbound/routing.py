"""Where a message may go, and which channel delivers it, decided per attempt (the one place for both).

Privacy first: a message about a user goes only to places that user is in, and staff notices only to
the configured staff channel. There is no "last group heard from": with several customer groups that
would tell one company what another is doing.

- The rest of a reply (``meta.continues``) or a message marked private belongs to the user's 1:1 chat:
  the chat it was given in on the long connection, else only the app's ``message/send`` (the user's
  response_url may belong to a group chat, and the webhook posts to the group).
- A WEBHOOK message is for the staff channel (``staff_channel``): the group robot webhook, else the long
  connection's WECOM_NOTICE_CHATID (or, chosen by the producer, the app to SUPPORT_STAFF) — except a
  notice of a user's news (``meta.audience == "group"``), which goes only to the group it names and only
  if that user wrote in it on the long connection (``notice_group``), never to the group where the news
  was already the reply (one announcement per event).
- A message to one user (USER, or APP: reminders, nudges, notifications) goes back where the user last
  spoke (``progress.last_chat``, written by the pipeline for every message):
  - on the long connection → their private chat with the AI bot;
  - on the AI-bot callback, in a group or a single chat → that chat, through the fresh, unused
    ``response_url`` WeCom gave with their last message (an hour, once);
  - on the app (or anywhere once that URL is spent) → the app;
  and when the app cannot reach them: their private chat on the long connection — never a group.
- 微信客服 first: a reply given there (``meta.transport`` "kf") goes back to its kf account, and a
  message to one user who last spoke there goes to that kf account (``last_chat.chat_id``); it never
  goes anywhere else (an external customer has no app chat, no group the bot may post in).

Producers ask here too, before they write a message, so that what they promise and what the router
then does cannot disagree: whether anything reaches staff (``staff_reachable``: the handlers tell a
user staff were notified only then), how a staff notice is addressed (``staff_address``), whether
notices of a user's news can reach a group at all (``group_notices_on``) and which group
(``notice_group``), and whether the app can message a user on its own (``app_sends``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from bot.channels.aibot import response_url
from bot.channels.app.protocol import TRANSPORT as APP_TRANSPORT
from bot.channels.kf.protocol import TRANSPORT as KF_TRANSPORT
from bot.channels.longconn.outbound import TRANSPORT as LONGCONN_TRANSPORT
from bot.channels.longconn.outbound import LongConnChannel
from bot.config import Settings, longconn_settings
from bot.core.keys import key_parts
from bot.core.progress import Progress
from bot.core.records import GROUP_NEWS, Event
from bot.core.store import Store
from bot.outbound.entry import APP, KF, LONGCONN, RESPONSE_URL, USER, WEBHOOK, OutboxMessage
from bot.outbound.inflight import Outbox

STAFF = "staff"  # meta.audience of a notice for support staff
GROUP = "group"  # meta.audience of a notice of a user's news for a group they wrote in (meta.chat_id)


def app_sends(settings: Settings) -> bool:
    """The app's ``message/send`` can reach a member on its own (WECOM_APP_SECRET, with the CorpID it
    fetches its token for): the only carrier of private messages, and of staff notices by app."""
    return bool(settings.app_secret and settings.corp_id)


def _groups_reachable(settings: Settings) -> bool:
    """A group a user wrote in can be reached: only the long connection can (the webhook's group may not be theirs)."""
    return longconn_settings(settings) is not None


def staff_channel(settings: Settings) -> str | None:
    """The configured staff channel, or None: WEBHOOK (its group, or WECOM_NOTICE_CHATID), else APP to staff."""
    ws = longconn_settings(settings)
    if settings.webhook_key or (ws and ws.notice_chat_id):
        return WEBHOOK
    if settings.support_staff and app_sends(settings):
        return APP
    return None


def staff_reachable(settings: Settings) -> bool:
    """A notice for staff has somewhere to go (the handlers tell a user staff were notified only then)."""
    return staff_channel(settings) is not None


class Address(NamedTuple):
    """How a producer addresses a message: the channel it asks for and its ``to_user``."""

    channel: str
    to_user: str | None


def staff_address(settings: Settings, about: str | None) -> Address | None:
    """A notice for staff about user ``about``: into the staff group (WEBHOOK, mentioning them), else to the
    staff themselves through the app; None when nothing reaches staff."""
    channel = staff_channel(settings)
    if channel == WEBHOOK:
        return Address(WEBHOOK, about)
    if channel == APP:
        return Address(APP, "|".join(settings.support_staff))
    return None


def group_notices_on(settings: Settings) -> bool:
    """Notices of a user's news go to a group they wrote in: GROUP_NOTICES (unset: on) and a channel to such a group."""
    return settings.group_notices is not False and _groups_reachable(settings)


def notice_group(settings: Settings, progress: Progress, event: Event) -> str | None:
    """The group a notice of this user's news may go to: the latest group they wrote in on the long
    connection, unless the news was told in a group already (the reply there is the announcement)."""
    if event.kind not in GROUP_NEWS or event.data.get("in_group") or not _groups_reachable(settings):
        return None
    chats = [g["chat_id"] for g in progress.groups if g.get("transport") == LONGCONN_TRANSPORT and g.get("chat_id")]
    return str(chats[-1]) if chats else None


def in_group(progress: Progress | None, chat_id: str) -> bool:
    """Did this user write in that long-connection group (so a message about them may go there)?"""
    return progress is not None and any(g.get("chat_id") == chat_id and g.get("transport") == LONGCONN_TRANSPORT
                                        for g in progress.groups)


class Route(NamedTuple):
    channel: str
    target: str | None = None  # the response_url, or the long connection's chat id


class Undeliverable(Exception):
    """No channel may carry this message: a dead letter, with the reason."""


class Router:
    def __init__(self, store: Store, outbox: Outbox, settings: Settings, *, app_available: bool,
                 longconn: LongConnChannel | None, clock: Callable[[], float], kf: bool = False) -> None:
        self.store = store
        self.outbox = outbox
        self.corp_id = settings.corp_id
        self.webhook = bool(settings.webhook_key)
        self.app = app_available
        self.longconn = longconn
        self.kf = kf
        self.clock = clock

    def route(self, message: OutboxMessage) -> Route:
        """The channel (and its target) for this attempt; records it in ``meta.route``."""
        spoke = _LastChat(self, message)
        chosen = self._choose(message, spoke)
        if chosen.channel != WEBHOOK:
            message.meta["route"] = chosen.channel
        return chosen

    def _choose(self, message: OutboxMessage, spoke: _LastChat) -> Route:
        kf_route = self._kf(message, spoke)
        if kf_route is not None:
            return kf_route
        longconn = self.longconn
        if longconn and (chat := longconn.reply_chat(message)):
            return Route(LONGCONN, chat)
        if message.channel == WEBHOOK:
            return self._user_group(message, spoke) if message.meta.get("audience") == GROUP else self._staff()
        single = _single_user(message)
        if longconn and single and not message.meta.get("transport") and spoke.transport == LONGCONN_TRANSPORT:
            return Route(LONGCONN, single)  # their private chat with the AI bot
        if message.private:  # never a response_url (maybe a group's) nor the group webhook
            message.meta["route"] = APP
            if self.app and message.to_user:
                return Route(APP)
            raise Undeliverable("private message: only the app's message/send may carry it, "
                                "and no WECOM_APP_SECRET is configured")
        if message.meta.get("route") != APP and (url := self._response_url(message, spoke)):
            return Route(RESPONSE_URL, url)
        message.meta["route"] = APP
        if self.app and message.to_user:
            return Route(APP)
        if longconn and single:
            return Route(LONGCONN, single)  # their private chat with the AI bot
        raise Undeliverable("no channel can reach the recipient (no app secret, no webhook key)")

    def _kf(self, message: OutboxMessage, spoke: _LastChat) -> Route | None:
        """The kf account a message goes through, None when it is not 微信客服's; Undeliverable when it is
        but 微信客服 is not configured (nothing else may carry it)."""
        if message.meta.get("transport") == KF_TRANSPORT:
            account = message.meta.get("chat_id")
        elif message.channel in (USER, APP) and _single_user(message) and message.meta.get("audience") != "staff" \
                and not message.meta.get("transport") and spoke.transport == KF_TRANSPORT:
            account = spoke.chat.get("chat_id")
        else:
            return None
        if not self.kf or not account:
            raise Undeliverable("a 微信客服 customer: only kf/send_msg reaches them, and 微信客服 is not configured")
        return Route(KF, str(account))

    def _staff(self) -> Route:
        """Staff notices: the webhook's group, else WECOM_NOTICE_CHATID — never a customer's group."""
        if self.webhook:
            return Route(WEBHOOK)
        if self.longconn and self.longconn.staff_chat:
            return Route(LONGCONN, self.longconn.staff_chat)
        raise Undeliverable("no staff channel (set WECOM_WEBHOOK_KEY or WECOM_NOTICE_CHATID)")

    def _user_group(self, message: OutboxMessage, spoke: _LastChat) -> Route:
        """A notice about a user: only the group it names, and only if the user wrote in it."""
        chat = str(message.meta.get("chat_id") or "")
        if not chat or not in_group(spoke.progress, chat):
            raise Undeliverable("a notice about a user goes only to a group that user wrote in")
        if self.longconn is None:
            raise Undeliverable("no long connection to reach the user's group")
        return Route(LONGCONN, chat)

    def _response_url(self, message: OutboxMessage, spoke: _LastChat) -> str | None:
        """The URL this attempt posts to: the message's own, one it claimed before, or the user's fresh one."""
        if message.channel == RESPONSE_URL and message.url:
            url: str | None = message.url
        else:
            url = self.outbox.claimed_url(message) or self._claim(message, spoke)
        expires = message.meta.get("url_expires")
        if url and expires is not None and float(expires) <= self.clock():
            message.meta["route_failed"] = "response_url expired"
            return None
        return url

    def _claim(self, message: OutboxMessage, spoke: _LastChat) -> str | None:
        user = _single_user(message)
        if not user or message.meta.get("audience") == "staff":
            return None
        return response_url.claim(self.store, message, spoke.user_key, self.clock, _not_last_in_the_app)


class _LastChat:
    """Where the recipient last spoke, read from their progress at most once per routing (and only if asked)."""

    def __init__(self, router: Router, message: OutboxMessage) -> None:
        self.user_key = message.meta.get("user_key") or key_parts(router.corp_id, message.to_user or "")
        self._store = router.store
        self._has_user = bool(message.meta.get("user_key") or message.to_user)
        self._progress: Progress | None = None
        self._loaded = False

    @property
    def progress(self) -> Progress | None:
        if not self._loaded:
            self._progress = self._store.load(self.user_key) if self._has_user else None
            self._loaded = True
        return self._progress

    @property
    def chat(self) -> dict[str, Any]:
        progress = self.progress
        return (progress.last_chat or {}) if progress is not None else {}

    @property
    def transport(self) -> str | None:
        return self.chat.get("transport")


def _not_last_in_the_app(progress: Progress) -> bool:
    """They last spoke in the app's chat: a message to them goes there, not to an older AI-bot chat."""
    return (progress.last_chat or {}).get("transport") != APP_TRANSPORT


def _single_user(message: OutboxMessage) -> str | None:
    """The one user a message is for (not "a|b", not nobody)."""
    user = message.to_user or ""
    return user if user and "|" not in user else None
