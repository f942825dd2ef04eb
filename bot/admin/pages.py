"""``/admin``: the operator view — who is stuck where, what the bot could not answer, what failed to send.

Thin views over ``bot.admin`` (queries and actions, no Flask there). Everything under ``/admin``
passes one guard (:func:`_guard`): admin off (503) without ADMIN_TOKEN; a signed-session login or an
``Authorization: Bearer`` token; a CSRF token on every POST. The guard is the blueprint's own
``before_request``, so it never touches the ``/wecom/*`` callbacks. ``/metrics`` and its callback
timing hooks are installed from here too (``bot.infra.metrics.install``).
"""

from __future__ import annotations

import csv
import io
import math
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import redis
from flask import (
    Response,
    current_app,
    flash,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wrappers import Response as BaseResponse  # what redirect() returns

from bot.admin import auth, handoff_pages, teach_pages, trend_pages  # noqa: F401  (their routes join the blueprint)
from bot.admin.actions import AdminActions, UserNotFound
from bot.admin.blueprint import (
    ASCII_INT,
    MAX_LIMIT,
    PAGE_LIMIT,
    bp,
    current_operator,
    int_arg,
    is_api,
    refuse,
    runtime,
)
from bot.admin.present import duration, iso, step_title, when, zone
from bot.admin.queries import ALL_STEPS, OPEN_STEPS, AdminQueries, as_json
from bot.admin.sessions import AdminSessions
from bot.core.keys import key_parts
from bot.core.progress import FINISHED
from bot.core.store import UserBusy
from bot.infra import metrics
from bot.understand.lexicon import squash
from bot.understand.reading import INTENTS
from bot.understand.staff_topics import StaffTopics
from bot.understand.teaching import Teaching

PUBLIC = {"admin.login", "admin.login_form"}
CONVERSATION_PAGE = 20  # messages per page of a user's conversation (41 used to run to ~10,000 px)


@bp.record_once
def _install(state) -> None:
    """/metrics and its hooks; and the session cookie's flags (only the operator view uses the session)."""
    metrics.install(state.app)
    config = state.app.config
    if config.get("SESSION_COOKIE_SAMESITE") is None:
        config["SESSION_COOKIE_SAMESITE"] = "Lax"
    settings = state.app.extensions["weda"].settings
    secure = settings.admin_cookie_secure  # None: auto
    if secure is True:
        config["SESSION_COOKIE_SECURE"] = True  # always, even if the app cannot tell it is behind HTTPS
    elif secure is None:
        state.app.session_interface = _SecureWhenHttps()


class _SecureWhenHttps(SecureCookieSessionInterface):
    """The cookie is ``Secure`` whenever the request came over HTTPS: directly, or through a proxy
    that gunicorn trusts (``X-Forwarded-Proto`` from ``--forwarded-allow-ips``, loopback by default)."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or (has_request_context() and request.is_secure)


# -- plumbing -----------------------------------------------------------------------------------------
def _queries() -> AdminQueries:
    services = runtime().services
    return AdminQueries(services.store, services.guide, services.clock, services.knowledge)


def _actions() -> AdminActions:
    services = runtime().services
    return AdminActions(services.store, services.renderer, services.guide, services.clock)


MAX_STUCK_HOURS = 24 * 366 * 10


def _stuck_after() -> float:
    """The idle threshold: ``?hours=`` or ADMIN_STUCK_HOURS (default 24); finite and at most ten years."""
    default = runtime().settings.admin_stuck_hours
    try:
        hours = float(request.args.get("hours", default))
    except ValueError:
        hours = default
    if not math.isfinite(hours):
        hours = default
    return min(max(0.0, hours), MAX_STUCK_HOURS) * 3600


@bp.before_request
def _guard():
    """Every /admin request: admin enabled? authenticated? and for POST, a valid CSRF token."""
    g.csp_nonce = secrets.token_urlsafe(16)
    settings = runtime().settings
    token = settings.admin_token
    if not token:
        body = render_template("admin/disabled.html") if not is_api() else '{"error": "admin disabled"}'
        return Response(body, status=503, mimetype="application/json" if is_api() else "text/html")
    presented = auth.bearer(request.headers.get("Authorization"))
    if request.endpoint not in PUBLIC and presented is not None:
        refused = _check_bearer(token, presented)
        if refused is not None:
            return refused
    if request.endpoint not in PUBLIC and not _authenticated(token, settings.secret_key):
        if is_api() or presented is not None:
            return Response('{"error": "unauthorized"}\n', status=401, mimetype="application/json",
                            headers={"WWW-Authenticate": 'Bearer realm="admin"'})
        return redirect(url_for("admin.login_form", next=request.full_path.rstrip("?")))
    if request.method == "POST" and not auth.csrf_matches(session.get("csrf"), request.form.get("csrf_token")):
        return refuse(400, "The form expired or did not come from this site (CSRF check failed). "
                            "Reload the page and try again.")
    return None


def _throttle() -> auth.LoginThrottle:
    return auth.LoginThrottle(runtime().redis)


def _sessions() -> AdminSessions:
    return AdminSessions(runtime().redis, runtime().settings.admin_session_hours * 3600)


def _check_bearer(token: str, presented: str) -> Response | None:
    """Bearer guesses count with failed logins: past the limit every attempt gets 429, right or wrong."""
    throttle, address = _throttle(), request.remote_addr or "?"
    if throttle.blocked(address):
        return Response('{"error": "too many failed attempts; wait 15 minutes"}\n', status=429,
                        mimetype="application/json", headers={"Retry-After": str(throttle.window)})
    if not auth.token_matches(token, presented):
        throttle.failed(address)
    return None


def _authenticated(token: str, secret_key: str) -> bool:
    presented = auth.bearer(request.headers.get("Authorization"))
    if presented is not None:
        # A bearer token is for reading (scripts, the API); forms need the session and its CSRF token.
        return request.method == "GET" and auth.token_matches(token, presented)
    if not auth.fingerprint_matches(secret_key, token, session.get("admin")):
        return False
    if not _sessions().valid(session.get("sid")):
        return False  # logged out (or never logged in here): the server-side session is gone
    max_age = runtime().settings.admin_session_hours * 3600
    logged_in = session.get("at")
    return isinstance(logged_in, int | float) and runtime().services.clock() - logged_in < max_age


@bp.errorhandler(redis.RedisError)
def _redis_down(exc: redis.RedisError) -> Response:
    current_app.logger.error("admin %s: redis unavailable: %s", request.path, type(exc).__name__)
    return refuse(503, "Redis is unavailable right now; the operator view needs it. Try again shortly.")


@bp.after_request
def _headers(response: Response) -> Response:
    """No framing (the buttons act), no caching of user data, only our own nonce'd script."""
    nonce = g.get("csp_nonce", "")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = auth.new_csrf_token()
    return session["csrf"]


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    settings = runtime().settings
    tz = zone(settings.admin_timezone)
    guide = runtime().services.guide
    return {
        "csrf_token": _csrf_token,
        "nonce": g.get("csp_nonce", ""),
        "operator": session.get("op"),
        "duration": duration,
        "when": lambda ts: when(ts, tz),
        "step_title": lambda n, lang="zh": step_title(guide, n, lang),
        "all_steps": ALL_STEPS,
        "finished_step": FINISHED,
    }


# -- login --------------------------------------------------------------------------------------------
@bp.get("/login")
def login_form():
    return render_template("admin/login.html", next=request.args.get("next", ""), name="", error=None)


@bp.post("/login")
def login():
    settings = runtime().settings
    throttle = _throttle()
    address = request.remote_addr or "?"
    nxt, name = request.form.get("next", ""), (request.form.get("name") or "").strip()[:40]
    if throttle.blocked(address):
        return render_template("admin/login.html", next=nxt, name=name,
                               error="Too many failed attempts; wait 15 minutes."), 429
    if not auth.token_matches(settings.admin_token, request.form.get("token")):
        throttle.failed(address)
        return render_template("admin/login.html", next=nxt, name=name, error="Wrong token."), 401
    throttle.succeeded(address)
    session.clear()  # a fresh session (and CSRF token) on login: no fixation
    session["admin"] = auth.fingerprint(settings.secret_key, settings.admin_token or "")
    session["at"] = runtime().services.clock()
    session["op"] = name or "admin"
    session["sid"] = _sessions().create(session["op"])
    session["csrf"] = auth.new_csrf_token()
    return redirect(auth.safe_next(nxt, url_for("admin.funnel")), code=303)


@bp.post("/logout")
def logout():
    _sessions().revoke(session.get("sid"))  # a copy of the cookie saved before now no longer works
    session.clear()
    return redirect(url_for("admin.login_form"), code=303)


# -- pages ----------------------------------------------------------------------------------------------
@bp.get("/")
def funnel():
    data = _queries().funnel(_stuck_after())
    return render_template("admin/funnel.html", funnel=data, page="funnel", **trend_pages.trend_context())


@bp.get("/pending")
def pending():
    data = _queries().pending(int_arg("offset", 0), int_arg("limit", 100, 1, MAX_LIMIT))
    return render_template("admin/pending.html", data=data, page="pending")


def _stuck_args() -> dict[str, Any]:
    step = request.args.get("step", "")
    steps = [int(step)] if ASCII_INT.fullmatch(step) and int(step) in ALL_STEPS else list(OPEN_STEPS)
    sort = request.args.get("sort", "idle")
    return {
        "idle_seconds": _stuck_after(),
        "steps": steps,
        "sort": sort if sort in ("idle", "step") else "idle",
        "descending": request.args.get("dir", "desc") != "asc",
        "offset": int_arg("offset", 0),
        "limit": int_arg("limit", PAGE_LIMIT, 1, MAX_LIMIT),
    }


@bp.get("/stuck")
def stuck():
    args = _stuck_args()
    data = _queries().stuck(**args)
    return render_template("admin/stuck.html", data=data, args=args, step=request.args.get("step", ""),
                           hours=args["idle_seconds"] / 3600, page="stuck")


@bp.get("/users")
def users():
    q = (request.args.get("q") or "").strip()
    if q:
        key = q if ":" in q else key_parts(runtime().settings.corp_id, q)
        if runtime().services.store.load(key) is not None:
            return redirect(url_for("admin.user", user_key=key))
        flash(f"No user {q!r}.", "error")
    data = _queries().recent(int_arg("offset", 0), int_arg("limit", PAGE_LIMIT, 1, MAX_LIMIT))
    return render_template("admin/users.html", data=data, page="users")


@bp.get("/users/<path:user_key>")
def user(user_key: str):
    detail = _queries().user(user_key)
    if detail is None:
        return refuse(404, f"No user {user_key!r}.")
    preview = _actions().render_nudge(detail.progress)
    offset, limit = int_arg("offset", 0), int_arg("limit", CONVERSATION_PAGE, 1, MAX_LIMIT)
    items = detail.conversation[offset:offset + limit]
    conv = {"items": items, "offset": offset, "limit": limit, "total": len(detail.conversation),
            "has_next": offset + len(items) < len(detail.conversation)}
    return render_template("admin/user.html", d=detail, preview=preview, page="users", conv=conv,
                           topics=teach_pages.topic_choices())


@bp.post("/users/<path:user_key>/move")
def move(user_key: str):
    try:
        step = int(request.form.get("step", ""))
    except ValueError:
        return refuse(400, "Choose a step.")
    return _act(user_key, lambda: _actions().move(user_key, step, current_operator()),
                f"Moved to step {step} ({step_title(runtime().services.guide, step, 'en')}).")


@bp.post("/users/<path:user_key>/reset")
def reset(user_key: str):
    return _act(user_key, lambda: _actions().reset(user_key, current_operator()), "Progress reset.")


@bp.post("/users/<path:user_key>/nudge")
def nudge(user_key: str):
    note = request.form.get("note", "")
    return _act(user_key, lambda: _actions().nudge(user_key, current_operator(), note), "Nudge queued.")


def _act(user_key: str, action: Callable[[], object], done: str) -> BaseResponse:
    try:
        action()
    except UserNotFound:
        return refuse(404, f"No user {user_key!r}.")
    except UserBusy:
        flash("The bot is handling a message from this user right now; try again in a moment.", "error")
    except ValueError as exc:
        return refuse(400, str(exc))
    else:
        flash(done, "ok")
    return redirect(url_for("admin.user", user_key=user_key), code=303)


@bp.get("/unanswered")
def unanswered():
    data = _queries().unanswered(int_arg("offset", 0), int_arg("limit", 100, 1, MAX_LIMIT))
    taught = {squash(e["text"]): e["label"] for e in Teaching(runtime().services.store.redis).entries()}
    topics = getattr(runtime().services.knowledge, "topics", {}) or {}
    commands = [i for i in INTENTS if i not in ("question", "clarify")]
    staff = [t for t in StaffTopics(runtime().services.store.redis).all() if not t.retired]
    return render_template("admin/unanswered.html", data=data, page="unanswered", taught=taught, squash=squash,
                           topics=topics, staff_topics=staff, commands=commands)


@bp.get("/dead-letters")
def dead_letters():
    queries = _queries()
    data = queries.dead_letters(int_arg("offset", 0), int_arg("limit", 100, 1, MAX_LIMIT))
    depth, _ = queries.outbox_depth()
    return render_template("admin/dead_letters.html", data=data, depth=depth,
                           corp_id=runtime().settings.corp_id, page="dead")


@bp.post("/dead-letters/retry")
def retry_dead_letter():
    if _actions().retry_dead_letter(request.form.get("id", "")):
        flash("Moved back to the outbox.", "ok")
    else:
        flash("That message is no longer in the dead letters (already retried?).", "error")
    return redirect(url_for("admin.dead_letters"), code=303)


@bp.post("/dead-letters/retry-all")
def retry_all_dead_letters():
    flash(f"Moved {_actions().retry_all_dead_letters()} message(s) back to the outbox.", "ok")
    return redirect(url_for("admin.dead_letters"), code=303)


# -- CSV export -------------------------------------------------------------------------------------------
EXPORT_COLUMNS = ("user_key", "corp_id", "user_id", "step", "step_title", "completed", "cert_state", "cert_since",
                  "cert_attempts", "lang", "muted", "step_started_at", "created_at", "last_seen")


@bp.get("/export.csv")
def export_csv():
    queries = _queries()
    guide = runtime().services.guide

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        for p in queries.all_users():
            writer.writerow([_cell(v) for v in (
                p.user_key, p.corp_id, p.user_id, p.step, step_title(guide, p.step, "en"),
                " ".join(map(str, p.completed)), p.cert.state, iso(p.cert.since), p.cert.attempts, p.lang,
                int(p.muted), iso(p.step_started_at.get(str(p.step))), iso(p.created_at), iso(p.last_seen))])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=weda-progress.csv"})


def _cell(value: Any) -> Any:
    """Defuse spreadsheet formulas in user-supplied text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# -- JSON API (GET only; Bearer token or the session) ----------------------------------------------------
@bp.get("/api/funnel")
def api_funnel():
    return jsonify(as_json(_queries().funnel(_stuck_after())))


@bp.get("/api/pending")
def api_pending():
    return jsonify(as_json(_queries().pending(int_arg("offset", 0), int_arg("limit", 100, 1, MAX_LIMIT))))


@bp.get("/api/stuck")
def api_stuck():
    return jsonify(as_json(_queries().stuck(**_stuck_args())))


@bp.get("/api/unanswered")
def api_unanswered():
    return jsonify(as_json(_queries().unanswered(int_arg("offset", 0), int_arg("limit", 100, 1, MAX_LIMIT))))


@bp.get("/api/dead-letters")
def api_dead_letters():
    return jsonify(as_json(_queries().dead_letters(int_arg("offset", 0), int_arg("limit", 100, 1, MAX_LIMIT))))


@bp.get("/api/users")
def api_users():
    return jsonify(as_json(_queries().recent(int_arg("offset", 0), int_arg("limit", PAGE_LIMIT, 1, MAX_LIMIT))))


@bp.get("/api/users/<path:user_key>")
def api_user(user_key: str):
    detail = _queries().user(user_key)
    if detail is None:
        return jsonify(error="no such user"), 404
    return jsonify(as_json(detail))
