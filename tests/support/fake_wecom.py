"""A local fake of WeCom's outbound API: a real HTTP server on 127.0.0.1 that records every request.

Implements ``gettoken``, ``message/send``, ``webhook/send`` and AI-bot ``response_url`` paths, with
WeCom's own behaviour where it matters to the sender: errcode on HTTP 200, token checks, a webhook
that answers 45009 past N messages per window, a response_url that works once. Faults can be
injected for the next N requests or for a period: ``45009``, ``500`` (HTTP 500), ``slow`` (sleep
past the client's timeout, then answer errcode -1: not delivered), ``hold`` (hang until the test calls
``release()``, then answer -1: for tests that must not depend on how long a hang lasts), ``late``
(deliver, but answer after a delay: a worker killed meanwhile never learns it was sent). Like WeCom,
``message/send`` with ``enable_duplicate_check`` drops a repeat of the same content to the same member
within ``duplicate_check_interval`` (recorded with fault "duplicate", not in ``delivered()``).

Use it as a context manager (``with FakeWeCom() as wecom``); point ``WECOM_API_BASE`` at
``wecom.base_url``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SEND_PATHS = ("message/send", "webhook/send", "response")


@dataclass
class Recorded:
    path: str  # "gettoken", "message/send", "webhook/send", "response/<id>"
    query: dict[str, str]
    body: dict[str, Any]
    at: float
    status: int = 0  # 0 while the fake is still answering
    errcode: int = 0
    fault: str | None = None  # the injected fault that answered, if any

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.errcode == 0

    @property
    def content(self) -> str:
        msgtype = self.body.get("msgtype", "")
        return str((self.body.get(msgtype) or {}).get("content", ""))


@dataclass
class Fault:
    mode: str  # "45009" | "500" | "slow"
    remaining: int | None = None
    until: float | None = None
    paths: tuple[str, ...] = SEND_PATHS
    delay: float = 2.0  # for "slow"

    def active(self, now: float) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        return self.until is None or now < self.until


@dataclass
class FakeWeCom:
    webhook_key: str = "hook-key"
    webhook_limit: int = 20
    window: float = 60.0
    token_ttl: int = 7200
    invalid_users: set[str] = field(default_factory=set)
    # Pictures users sent: ``media/get?media_id=`` (the app) and ``file/<name>`` download URLs (the AI bot).
    media: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    clock: Callable[[], float] = time.time  # for the webhook limit and timestamps (tests may pass a FakeClock)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._tokens: set[str] = set()
        self._token_seq = itertools.count(1)
        self._webhook_times: deque[float] = deque()
        self._used_urls: set[str] = set()
        self._released = threading.Event()
        self._released.set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._serve(self, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw.decode("utf-8")) if raw else {}
                except ValueError:
                    body = {"_invalid": raw.decode("utf-8", "replace")}
                fake._serve(self, body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="fake-wecom", daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------------------
    def __enter__(self) -> FakeWeCom:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/"

    def file_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/file/{name}"

    def response_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/response/{name}"

    # -- control ---------------------------------------------------------------------------------------------
    def fail(self, mode: str, *, count: int | None = None, seconds: float | None = None,
             paths: tuple[str, ...] = SEND_PATHS, delay: float = 2.0) -> None:
        """Answer the next ``count`` matching requests (or all for ``seconds``) with ``mode``."""
        until = time.monotonic() + seconds if seconds is not None else None
        with self._lock:
            self._faults.append(Fault(mode, count, until, paths, delay))

    def hold(self, paths: tuple[str, ...] = SEND_PATHS) -> None:
        """Every matching request hangs until :meth:`release` (then fails: the client has given up)."""
        self._released.clear()
        self.fail("hold", paths=paths)

    def release(self) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if f.mode != "hold"]
        self._released.set()

    def held(self, path: str | None = None) -> list[Recorded]:
        return [r for r in self.calls(path) if r.fault == "hold"]

    def heal(self) -> None:
        with self._lock:
            self._faults.clear()

    def invalidate_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    # -- inspection ------------------------------------------------------------------------------------------
    def calls(self, path: str | None = None, *, ok: bool | None = None) -> list[Recorded]:
        with self._lock:
            found = list(self.requests)
        if path is not None:
            found = [r for r in found if r.path == path or (path == "response" and r.path.startswith("response/"))]
        if ok is not None:
            found = [r for r in found if r.ok == ok]
        return found

    def delivered(self, path: str | None = None) -> list[Recorded]:
        """Messages WeCom accepted (all send paths when ``path`` is None; never gettoken)."""
        return [r for r in self.calls(path, ok=True) if r.path != "gettoken" and r.fault != "duplicate"]

    # -- serving -------------------------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        url = urlsplit(handler.path)
        path = url.path.removeprefix("/cgi-bin/")
        record = Recorded(path, dict(parse_qsl(url.query)), body, self.clock(), status=0)
        with self._lock:
            self.requests.append(record)  # in arrival order; the outcome is filled in below
        fault = self._take_fault(path, time.monotonic())
        if fault is not None:
            record.fault = fault.mode
            if fault.mode == "slow":
                time.sleep(fault.delay)
                status, answer = 200, {"errcode": -1, "errmsg": "system busy"}
            elif fault.mode == "late":  # delivered at once, but the answer comes after ``delay``
                status, answer = self._answer(path, record)
                record.fault = record.fault or "late"
                record.status = status
                record.errcode = int((answer or {}).get("errcode", 0)) if status == 200 else -1
                time.sleep(fault.delay)
            elif fault.mode == "hold":
                self._released.wait(120)
                status, answer = 200, {"errcode": -1, "errmsg": "system busy"}
            elif fault.mode == "500":
                status, answer = 500, None
            else:
                status, answer = 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
        else:
            binary = self._binary(path, record)
            if binary is not None:
                record.status = 200
                self._send(handler, 200, "application/octet-stream", binary)
                return
            status, answer = self._answer(path, record)
        record.status = status
        record.errcode = int((answer or {}).get("errcode", 0)) if status == 200 else -1
        payload = json.dumps(answer).encode() if answer is not None else b"internal error"
        self._send(handler, status, "application/json" if answer is not None else "text/plain", payload)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, content_type: str, payload: bytes) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and went away

    def _binary(self, path: str, record: Recorded) -> bytes | None:
        """A picture's bytes, as WeCom serves them (an unknown media_id gets WeCom's JSON error instead)."""
        if path == "media/get":
            with self._lock:
                known = record.query.get("access_token") in self._tokens
            return self.media.get(record.query.get("media_id", "")) if known else None
        if path.startswith("file/"):
            return self.files.get(path.removeprefix("file/"))
        return None

    def _duplicate(self, record: Recorded) -> bool:
        """``enable_duplicate_check``: the same content to the same member within the interval."""
        body = record.body
        if body.get("enable_duplicate_check") != 1:
            return False
        interval = float(body.get("duplicate_check_interval") or 1800)
        same = (body.get("touser"), body.get("msgtype"), record.content)
        with self._lock:
            earlier = [r for r in self.requests if r is not record and r.path == "message/send" and r.ok
                       and r.fault != "duplicate" and (r.body.get("touser"), r.body.get("msgtype"), r.content) == same
                       and record.at - r.at < interval]
        return bool(earlier)

    def _take_fault(self, path: str, now: float) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.active(now) and any(path.startswith(p) for p in fault.paths):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None

    def _answer(self, path: str, record: Recorded) -> tuple[int, dict[str, Any] | None]:
        if path == "gettoken":
            if not record.query.get("corpid") or not record.query.get("corpsecret"):
                return 200, {"errcode": 40013, "errmsg": "invalid corpid"}
            token = f"token-{next(self._token_seq)}"
            with self._lock:
                self._tokens.add(token)
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_ttl}
        if path == "message/send":
            with self._lock:
                known = record.query.get("access_token") in self._tokens
            if not known:
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}
            users = str(record.body.get("touser", "")).split("|")
            if all(u in self.invalid_users for u in users):
                return 200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}
            if self._duplicate(record):
                record.fault = "duplicate"  # WeCom's duplicate check: accepted, not shown again
                return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": ""}
            return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": ""}
        if path == "webhook/send":
            if record.query.get("key") != self.webhook_key:
                return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
            with self._lock:
                while self._webhook_times and self._webhook_times[0] <= record.at - self.window:
                    self._webhook_times.popleft()
                if len(self._webhook_times) >= self.webhook_limit:
                    record.fault = "over-limit"
                    return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
                self._webhook_times.append(record.at)
            return 200, {"errcode": 0, "errmsg": "ok"}
        if path == "media/get":
            known = record.query.get("access_token") in self._tokens
            return 200, ({"errcode": 40007, "errmsg": "invalid media_id"} if known
                         else {"errcode": 42001, "errmsg": "access_token expired"})
        if path.startswith("response/"):
            with self._lock:
                used = path in self._used_urls
                self._used_urls.add(path)
            if used:
                return 200, {"errcode": 600099, "errmsg": "response_url already used"}
            return 200, {"errcode": 0, "errmsg": "ok"}
        return 404, None


def max_in_window(times: list[float], window: float) -> int:
    """The largest number of timestamps inside any window of ``window`` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best
