"""A local fake 微信客服 (loopback only) for the tests, the benchmark and the demo (``chat --kf``, ``serve``).

It plays WeCom's part as documented (path/94670, 94677, 94669, 95122), refusals included:
- customers, receptionists and system events append to each kf account's message log; the bot learns
  of them through a signed, encrypted ``kf_msg_or_event`` callback (:meth:`FakeKf.callback`) and reads
  them with ``kf/sync_msg`` (a cursor per position, ``has_more``, pages of at most ``limit``, optional
  empty pages with ``has_more=1``, messages kept 3 days: a cursor older than that is stale);
- the callback's Token is valid 10 minutes (an older one: 95007);
- ``kf/send_msg`` only in session state 0/1 (else 95018) and within 48 h of the customer's last
  message, at most 5 messages in that window (else 95001);
- ``kf/send_msg_on_event``: a welcome_code once, within 20 s;
- ``kf/service_state/trans`` / ``get``.
Which of these codes are documented and which are ours: ``bot.channels.kf.api``.
"""

from __future__ import annotations

import itertools
import json
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.channels.kf.api import (
    BOT,
    BOT_MAY_SEND,
    ENDED,
    HUMAN,
    INVALID_OPEN_KFID,
    INVALID_PARAMETER,
    INVALID_SYNC_TOKEN,
    NEW,
    POOL,
    SEND_LIMIT,
    SESSION_STATE_REFUSED,
)
from bot.channels.wecom.envelope import Envelope
from bot.config import CallbackCredentials
from bot.demo.simulate_app import SignedCallback

RETENTION = 3 * 86400.0
SYNC_TOKEN_TTL = 600.0
WINDOW = 48 * 3600.0
WINDOW_MESSAGES = 5
WELCOME_CODE_TTL = 20.0
TOKEN_EXPIRED = 42001


@dataclass
class Sent:
    path: str
    body: dict[str, Any]
    errcode: int
    at: float

    @property
    def ok(self) -> bool:
        return self.errcode == 0

    @property
    def text(self) -> str:
        body = self.body
        content = body.get(str(body.get("msgtype")))
        content = content if isinstance(content, dict) else {}
        return str(content.get("content") or content.get("head_content") or "")

    @property
    def menu(self) -> list[dict[str, Any]]:
        content = self.body.get("msgmenu")
        content = content if isinstance(content, dict) else {}
        return [item.get("click", {}) for item in content.get("list") or []]


@dataclass
class FakeKf:
    credentials: CallbackCredentials  # the kf callback's Token + key; receive_id = the CorpID
    clock: Callable[[], float] = time.time
    open_kfid: str = "wkDemoAccount01"
    empty_pages: int = 0  # the next sync_msg calls answer an empty list with has_more=1
    bot_url: str | None = None  # where the demo's control API posts callbacks (``serve``'s web process)
    port: int = 0
    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.envelope = Envelope(self.credentials, max_age=0, clock=self.clock)
        self.log: dict[str, list[dict[str, Any]]] = {}  # per account, oldest first
        self.base_seq: dict[str, int] = {}  # seq of log[0]
        self.sessions: dict[tuple[str, str], dict[str, Any]] = {}
        self.windows: dict[tuple[str, str], dict[str, float]] = {}
        self.sync_tokens: dict[str, float] = {}
        self.access_tokens: set[str] = set()
        self.media: dict[str, bytes] = {}  # media_id -> the file media/get returns (what customers sent)
        self.welcome_codes: dict[str, dict[str, Any]] = {}
        self.sync_calls: list[dict[str, Any]] = []
        self._ids = itertools.count(random.randint(10**6, 10**7))
        self._sent_msgids: set[str] = set()
        self.on_send: Callable[[Sent], None] | None = None  # the demo prints, the benchmark times
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._http(self, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length).decode("utf-8")) if length else {}
                except ValueError:
                    body = {}
                fake._http(self, body if isinstance(body, dict) else {})

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="fake-kf", daemon=True)

    # -- lifecycle --------------------------------------------------------------------------------------------
    def __enter__(self) -> FakeKf:
        self.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.stop()

    def start(self) -> FakeKf:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/demo/"

    # -- what happens on WeCom's side --------------------------------------------------------------------------
    def _append(self, account: str, message: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            message.setdefault("msgid", f"msg{next(self._ids)}")
            message.setdefault("send_time", int(self.clock()))
            message["open_kfid"] = account
            self.log.setdefault(account, []).append(message)
            self.base_seq.setdefault(account, 0)
            return message

    def _session(self, account: str, user: str) -> dict[str, Any]:
        return self.sessions.setdefault((account, user), {"state": NEW, "servicer": None})

    def customer_text(self, user: str, text: str, *, menu_id: str | None = None, account: str | None = None,
                      msgid: str | None = None) -> str:
        account = account or self.open_kfid
        body: dict[str, Any] = {"content": text}
        if menu_id:
            body["menu_id"] = menu_id
        message = {"external_userid": user, "origin": 3, "msgtype": "text", "text": body}
        if msgid:
            message["msgid"] = msgid
        return self._customer(account, user, message)

    def customer_image(self, user: str, media_id: str, *, account: str | None = None, data: bytes | None = None) -> str:
        """The customer sends a picture; ``data``: what ``media/get`` then returns for its ``media_id``."""
        account = account or self.open_kfid
        if data is not None:
            self.media[media_id] = data
        return self._customer(account, user, {"external_userid": user, "origin": 3, "msgtype": "image",
                                              "image": {"media_id": media_id}})

    def _customer(self, account: str, user: str, message: dict[str, Any]) -> str:
        with self.lock:
            session = self._session(account, user)
            if session["state"] == ENDED:
                session.update(state=NEW, servicer=None)
            self.windows[(account, user)] = {"opened": self.clock(), "sent": 0}
            return str(self._append(account, message)["msgid"])

    def receptionist_text(self, user: str, servicer: str, text: str, *, account: str | None = None) -> str:
        message = {"external_userid": user, "origin": 5, "servicer_userid": servicer, "msgtype": "text",
                   "text": {"content": text}}
        return str(self._append(account or self.open_kfid, message)["msgid"])

    def _event(self, account: str, user: str, event: dict[str, Any]) -> dict[str, Any]:
        return self._append(account, {"origin": 4, "msgtype": "event",
                                      "event": {"open_kfid": account, "external_userid": user, **event}})

    def enter_session(self, user: str, *, account: str | None = None, scene: str = "doc") -> str:
        """The customer opens the kf link; returns the welcome_code (usable once, within 20 s)."""
        account = account or self.open_kfid
        code = secrets.token_hex(8)
        with self.lock:
            self.welcome_codes[code] = {"at": self.clock(), "used": False, "user": user, "account": account}
            self._session(account, user)
        self._event(account, user, {"event_type": "enter_session", "scene": scene, "welcome_code": code})
        return code

    def take_from_pool(self, user: str, servicer: str, *, account: str | None = None) -> None:
        account = account or self.open_kfid
        with self.lock:
            self._session(account, user).update(state=HUMAN, servicer=servicer)
        self._event(account, user, {"event_type": "session_status_change", "change_type": 1,
                                    "new_servicer_userid": servicer})

    def end_session(self, user: str, *, account: str | None = None) -> None:
        """The receptionist ends the session in WeCom's workbench (state 4)."""
        account = account or self.open_kfid
        with self.lock:
            session = self._session(account, user)
            old = session.get("servicer")
            session.update(state=ENDED, servicer=None)
        self._event(account, user, {"event_type": "session_status_change", "change_type": 3,
                                    "old_servicer_userid": old})

    def send_fail(self, user: str, msgid: str, *, account: str | None = None, fail_type: int = 10) -> None:
        self._event(account or self.open_kfid, user, {"event_type": "msg_send_fail", "fail_msgid": msgid,
                                                      "fail_type": fail_type})

    def recall(self, user: str, msgid: str, *, account: str | None = None) -> None:
        self._event(account or self.open_kfid, user, {"event_type": "user_recall_msg", "recall_msgid": msgid})

    def state_of(self, user: str, account: str | None = None) -> int:
        with self.lock:
            return int(self._session(account or self.open_kfid, user)["state"])

    def callback(self, account: str | None = None) -> SignedCallback:
        """The ``kf_msg_or_event`` WeCom posts to ``/wecom/kf``, with a fresh Token."""
        account = account or self.open_kfid
        token = "ENC" + secrets.token_urlsafe(24)
        with self.lock:
            self.sync_tokens[token] = self.clock()
        corp = self.credentials.receive_id
        xml = (f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><CreateTime>{int(self.clock())}</CreateTime>"
               f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
               f"<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{account}]]></OpenKfId></xml>")
        nonce = str(random.randint(10**8, 10**9))
        encrypted, signature, timestamp = self.envelope.encrypt(xml, nonce)
        body = f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return SignedCallback({"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}, body.encode())

    def delivered(self, user: str | None = None) -> list[Sent]:
        """What customers were shown (sends WeCom took), oldest first."""
        with self.lock:
            return [s for s in self.sent if s.ok and (user is None or s.body.get("touser") == user)]

    def texts(self, user: str | None = None) -> list[str]:
        return [s.text for s in self.delivered(user)]

    # -- the HTTP API ------------------------------------------------------------------------------------------------
    def _http(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path.startswith("/demo/"):
            answer = self._demo(parts.path.removeprefix("/demo/"), query, body)
        else:
            path = parts.path.split("/cgi-bin/", 1)[-1]
            if path == "media/get" and query.get("access_token") in self.access_tokens \
                    and query.get("media_id") in self.media:
                self._file(handler, self.media[query["media_id"]])
                return
            with self.lock:
                answer = self._answer(path, query, body)
        raw = json.dumps(answer, ensure_ascii=False).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    @staticmethod
    def _file(handler: BaseHTTPRequestHandler, data: bytes) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    # -- the demo's control API (``python -m bot chat --kf``): a customer's side, over HTTP ----------------------
    def _demo(self, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        """``say`` {user, text[, menu_id]} / ``enter`` {user} / ``end`` {user}: act, then post the callback to
        ``bot_url``; ``sent?user=&after=``: what the bot sent that customer from position ``after`` on."""
        user = str(body.get("user") or query.get("user") or "demo-customer")
        if path == "sent":
            after = int(query.get("after") or 0)
            sends = [{"text": s.text, "path": s.path, "menu": s.menu} for s in self.delivered(user)]
            return {"errcode": 0, "sent": sends[after:], "total": len(sends), "state": self.state_of(user)}
        if path == "say":
            self.customer_text(user, str(body.get("text") or ""), menu_id=body.get("menu_id") or None)
        elif path == "enter":
            self.enter_session(user)
        elif path == "end":
            self.end_session(user)
        else:
            return {"errcode": 404, "errmsg": f"unknown demo action {path}"}
        return {"errcode": 0, "callback": self.post_callback()}

    def post_callback(self) -> int:
        """Post the ``kf_msg_or_event`` to the bot (``bot_url``); returns the HTTP status (0: unreachable)."""
        import requests

        if not self.bot_url:
            return 0
        callback = self.callback()
        try:
            response = requests.post(self.bot_url.rstrip("/") + "/wecom/kf", params=callback.query,
                                     data=callback.body, timeout=10)
        except requests.RequestException:
            return 0
        return response.status_code

    def _answer(self, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if path == "gettoken":
            token = secrets.token_hex(16)
            self.access_tokens.add(token)
            return {"errcode": 0, "access_token": token, "expires_in": 7200}
        if query.get("access_token") not in self.access_tokens:
            return {"errcode": TOKEN_EXPIRED, "errmsg": "access_token expired"}
        routes = {"kf/sync_msg": self._sync, "kf/send_msg": self._send, "kf/send_msg_on_event": self._send_on_event,
                  "kf/service_state/trans": self._trans, "kf/service_state/get": self._state}
        route = routes.get(path)
        if route is None:
            return {"errcode": 404, "errmsg": f"unknown path {path}"}
        return route(body)

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access_tokens.clear()

    def _sync(self, body: dict[str, Any]) -> dict[str, Any]:
        account = str(body.get("open_kfid") or "")
        self.sync_calls.append(dict(body))
        if account not in self.log:
            return {"errcode": INVALID_OPEN_KFID, "errmsg": "invalid open_kfid"}
        token = body.get("token")
        now = self.clock()
        if token is not None and now - self.sync_tokens.get(str(token), -1e18) > SYNC_TOKEN_TTL:
            return {"errcode": INVALID_SYNC_TOKEN, "errmsg": "invalid msg token"}
        self._forget_old(account, now)
        log, base = self.log[account], self.base_seq[account]
        cursor = str(body.get("cursor") or "")
        if cursor:
            try:
                position = int(cursor.removeprefix("c"))
            except ValueError:
                return {"errcode": INVALID_PARAMETER, "errmsg": "invalid cursor"}
            if position < base or position > base + len(log):
                return {"errcode": INVALID_PARAMETER, "errmsg": "invalid cursor (stale)"}
        else:
            position = base
        if self.empty_pages > 0:
            self.empty_pages -= 1
            return {"errcode": 0, "next_cursor": f"c{position}", "has_more": 1, "msg_list": []}
        limit = max(1, min(int(body.get("limit") or 1000), 1000))
        page = log[position - base: position - base + limit]
        end = position + len(page)
        return {"errcode": 0, "next_cursor": f"c{end}", "has_more": 1 if end < base + len(log) else 0,
                "msg_list": [dict(m) for m in page]}

    def _forget_old(self, account: str, now: float) -> None:
        log = self.log[account]
        while log and now - float(log[0]["send_time"]) > RETENTION:
            log.pop(0)
            self.base_seq[account] += 1

    def _record(self, path: str, body: dict[str, Any], errcode: int, errmsg: str = "") -> dict[str, Any]:
        sent = Sent(path, dict(body), errcode, self.clock())
        self.sent.append(sent)
        if errcode == 0 and self.on_send is not None:
            self.on_send(sent)
        out: dict[str, Any] = {"errcode": errcode, "errmsg": errmsg or ("ok" if errcode == 0 else "refused")}
        if errcode == 0:
            out["msgid"] = body.get("msgid") or f"srv{next(self._ids)}"
        return out

    def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        account, user = str(body.get("open_kfid") or ""), str(body.get("touser") or "")
        if account not in self.log:
            return self._record("kf/send_msg", body, INVALID_OPEN_KFID, "invalid open_kfid")
        session = self._session(account, user)
        if session["state"] not in BOT_MAY_SEND:
            return self._record("kf/send_msg", body, SESSION_STATE_REFUSED, "session state does not allow sending")
        window = self.windows.get((account, user))
        if window is None or self.clock() - window["opened"] > WINDOW or window["sent"] >= WINDOW_MESSAGES:
            return self._record("kf/send_msg", body, SEND_LIMIT, "send limit: 48 h or 5 messages")
        window["sent"] += 1
        if session["state"] == NEW:
            session["state"] = BOT
        return self._record("kf/send_msg", body, 0)

    def _send_on_event(self, body: dict[str, Any]) -> dict[str, Any]:
        code = self.welcome_codes.get(str(body.get("code") or ""))
        if code is None or code["used"] or self.clock() - code["at"] > WELCOME_CODE_TTL:
            return self._record("kf/send_msg_on_event", body, INVALID_PARAMETER, "invalid or used welcome code")
        code["used"] = True
        return self._record("kf/send_msg_on_event", {**body, "touser": code["user"]}, 0)

    def _trans(self, body: dict[str, Any]) -> dict[str, Any]:
        account, user = str(body.get("open_kfid") or ""), str(body.get("external_userid") or "")
        state = body.get("service_state")
        if account not in self.log or state not in (BOT, POOL, HUMAN, ENDED):
            return {"errcode": INVALID_PARAMETER, "errmsg": "invalid parameter"}
        servicer = body.get("servicer_userid")
        if state == HUMAN and not servicer:
            return {"errcode": INVALID_PARAMETER, "errmsg": "servicer_userid required for state 3"}
        self._session(account, user).update(state=state, servicer=servicer)
        self.sent.append(Sent("kf/service_state/trans", dict(body), 0, self.clock()))
        return {"errcode": 0, "errmsg": "ok", "msg_code": secrets.token_hex(6)}

    def _state(self, body: dict[str, Any]) -> dict[str, Any]:
        session = self._session(str(body.get("open_kfid") or ""), str(body.get("external_userid") or ""))
        return {"errcode": 0, "errmsg": "ok", "service_state": session["state"],
                "servicer_userid": session.get("servicer") or ""}
